"""Contract of the rights catalogue read model (rights holders and their works), run on the
in-memory and PostgreSQL views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.actors import SYSTEM, Actor, Role
from domain.rights_holder import RightsHolder
from domain.work import Work
from projections.base import InvalidCursorError
from projections.works import InMemoryWorksView, PostgresWorksView
from tests.views import STORES, Log, open_view


@pytest.fixture(params=STORES)
async def view(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    async with open_view(request, InMemoryWorksView, PostgresWorksView) as opened:
        yield opened


def holder(name: str) -> tuple[RightsHolder, Actor]:
    h = RightsHolder.onboard(SYSTEM, name, "proof")
    return h, Actor(str(h.id), Role.RIGHTS_HOLDER)


def work(actor: Actor, title: str, *aliases: str) -> Work:
    return Work.register(actor, UUID(actor.id), title, "character", aliases)


async def test_a_holders_works_are_listed_newest_first_with_their_changes(view: Any):
    log = Log()
    studio, actor = holder("Studio")
    rival, rival_actor = holder("Rival")
    first, second = work(actor, "Otter Captain", "Capt Otter"), work(actor, "Heron Pilot")
    await view.apply(log.batch(studio, rival, first, second, work(rival_actor, "Rival Fox")))
    grant = uuid4()
    first.add_reference(actor, "a" * 64, "image/png")
    first.add_reference(actor, "b" * 64, "image/jpeg")
    first.link_grant(actor, grant)
    second.withdraw(actor, "rights lapsed")
    await view.apply(log.batch(first, second))

    rows, cursor = await view.works_of(studio.id)
    assert [r.title for r in rows] == ["Heron Pilot", "Otter Captain"] and cursor is None
    otter = rows[1]
    assert otter.aliases == ("Otter Captain", "Capt Otter")
    assert (otter.grant_ids, otter.reference_count, otter.withdrawn) == ((grant,), 2, False)
    assert rows[0].withdrawn is True
    assert await view.get(first.id) == otter
    assert await view.position() == log.position


async def test_rights_holders_are_listed_newest_first_with_work_counts(view: Any):
    log = Log()
    holders = [holder(f"Holder {i}") for i in range(3)]
    await view.apply(log.batch(*(h for h, _ in holders)))
    await view.apply(log.batch(work(holders[1][1], "Holder One Mascot"),
                               work(holders[1][1], "Holder One Jingle")))
    page, cursor = await view.rights_holders(limit=2)
    assert [(h.name, h.work_count) for h in page] == [("Holder 2", 0), ("Holder 1", 2)]
    rest, end = await view.rights_holders(cursor=cursor, limit=2)
    assert [h.name for h in rest] == ["Holder 0"] and end is None


async def test_replaying_a_batch_applies_each_event_once(view: Any):
    log = Log()
    studio, actor = holder("Studio")
    w = work(actor, "Otter Captain")
    w.link_grant(actor, uuid4())
    w.add_reference(actor, "c" * 64, "image/png")
    batch = log.batch(studio, w)
    await view.apply(batch)
    await view.apply(batch)
    (row,), _ = await view.works_of(studio.id)
    assert (len(row.grant_ids), row.reference_count) == (1, 1)
    (h,), _ = await view.rights_holders()
    assert h.work_count == 1


async def test_a_malformed_cursor_is_refused(view: Any):
    with pytest.raises(InvalidCursorError):
        await view.works_of(uuid4(), cursor="not base64 json")
    with pytest.raises(InvalidCursorError):
        await view.rights_holders(cursor="WyJ4Il0=")  # ["x"]
