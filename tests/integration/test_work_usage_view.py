"""Contract of the work usage read model, run on the in-memory and PostgreSQL views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.actors import Actor, Role
from domain.generation import Generation
from projections.base import InvalidCursorError
from projections.work_usage import InMemoryWorkUsageView, PostgresWorkUsageView
from tests.views import STORES, Log, open_view

MEMBER = Actor("m", Role.MEMBER)


@pytest.fixture(params=STORES)
async def view(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    async with open_view(request, InMemoryWorkUsageView, PostgresWorkUsageView) as opened:
        yield opened




def generation(outcome: str, *work_ids: UUID, remix_of: UUID | None = None,
               inherited: tuple[UUID, ...] = ()) -> Generation:
    """Decided as the gate decides: the works its prompt named, and (for a remix) the
    featured works of its source."""
    g = Generation.request(MEMBER, uuid4(), "a scene", (), 5, remix_of=remix_of)
    g.decide(MEMBER, outcome, (), (), tuple(work_ids), {},
             featured_work_ids=(*work_ids, *inherited))
    return g


async def ids(view: Any, work_id: UUID, **kwargs: Any) -> list[UUID]:
    used, _ = await view.used_by(work_id, **kwargs)
    return [u.generation_id for u in used]


async def test_allowed_and_reviewed_generations_use_a_work_and_denied_ones_do_not(view: Any):
    log = Log()
    work = uuid4()
    allowed, review, denied = (generation(o, work) for o in ("allow", "review", "deny"))
    await view.apply(log.batch(allowed, review, denied))
    assert await ids(view, work) == [review.id, allowed.id]
    assert await view.position() == log.position


async def test_a_generation_naming_two_works_is_listed_under_each(view: Any):
    log = Log()
    a, b = uuid4(), uuid4()
    both = generation("allow", a, b)
    await view.apply(log.batch(both, generation("allow", b)))
    assert await ids(view, a) == [both.id]
    assert len(await ids(view, b)) == 2
    assert await ids(view, uuid4()) == []


async def test_a_remix_is_listed_for_the_works_it_inherits(view: Any):
    log = Log()
    work, other = uuid4(), uuid4()
    source = generation("allow", work)
    remix = generation("allow", other, remix_of=source.id, inherited=(work,))
    named_again = generation("allow", work, remix_of=source.id, inherited=(work,))
    await view.apply(log.batch(source, remix, named_again))

    used, _ = await view.used_by(work)
    assert [(u.generation_id, u.inherited) for u in used] == [
        (named_again.id, False), (remix.id, True), (source.id, False)]
    assert await ids(view, other) == [remix.id]
    remix_of_remix = generation("allow", remix_of=remix.id, inherited=(other, work))
    await view.apply(log.batch(remix_of_remix))
    assert (await ids(view, work))[0] == remix_of_remix.id
    assert (await ids(view, other))[0] == remix_of_remix.id


async def test_a_work_found_only_in_the_frames_is_listed_once_scanned(view: Any):
    log = Log()
    named, seen = uuid4(), uuid4()
    g = generation("allow", named)
    g.record_render(MEMBER, "a" * 64, 10, 1.0, "w", 1)
    await view.apply(log.batch(g))
    assert await ids(view, seen) == []
    g.record_scan(MEMBER, {}, work_ids=(seen, named))
    await view.apply(log.batch(g))
    used, _ = await view.used_by(seen)
    assert [(u.generation_id, u.visual, u.inherited) for u in used] == [(g.id, True, False)]
    assert [u.visual for u in (await view.used_by(named))[0]] == [False]


async def test_a_denied_remix_uses_nothing(view: Any):
    log = Log()
    work = uuid4()
    source = generation("allow", work)
    await view.apply(log.batch(source, generation("deny", remix_of=source.id)))
    assert await ids(view, work) == [source.id]


async def test_replaying_a_batch_applies_each_event_once(view: Any):
    log = Log()
    work = uuid4()
    batch = log.batch(generation("allow", work), generation("allow", work))
    await view.apply(batch)
    await view.apply(batch)
    assert len(await ids(view, work)) == 2


async def test_usage_is_newest_first_and_pages_with_a_cursor(view: Any):
    log = Log()
    work = uuid4()
    made = [generation("allow", work) for _ in range(5)]
    await view.apply(log.batch(*made))
    first, cursor = await view.used_by(work, limit=3)
    assert [u.generation_id for u in first] == [g.id for g in reversed(made[2:])]
    rest, end = await view.used_by(work, cursor=cursor, limit=3)
    assert [u.generation_id for u in rest] == [made[1].id, made[0].id] and end is None
    with pytest.raises(InvalidCursorError):
        await view.used_by(work, cursor="bm90LWpzb24")
