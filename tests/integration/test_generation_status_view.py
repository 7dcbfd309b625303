"""Contract of the generation status read model, run on the in-memory and PostgreSQL views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from domain.actors import Actor, Role
from domain.generation import Generation
from projections.generation_status import (
    InMemoryGenerationStatusView,
    PostgresGenerationStatusView,
)
from tests.views import STORES, Log, open_view

MEMBER = Actor("m", Role.MEMBER)
WORKER = Actor("w", Role.WORKER)


@pytest.fixture(params=STORES)
async def view(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    async with open_view(request, InMemoryGenerationStatusView,
                         PostgresGenerationStatusView) as opened:
        yield opened




def published(requester: Any) -> Generation:
    g = Generation.request(MEMBER, requester, "a quiet lake", (uuid4(),), 5)
    g.decide(MEMBER, "allow", (), ({"code": "ID-VERIFIED", "outcome": "pass"},), (), {})
    g.record_render(WORKER, "a" * 64, 10, 1.0, "w", 1)
    g.record_scan(WORKER, {})
    g.record_watermark(WORKER, "beef", "m", "p" * 64)
    g.publish(WORKER)
    return g


async def test_a_generation_row_follows_its_events_to_published(view: Any):
    log = Log()
    requester = uuid4()
    g = published(requester)
    await view.apply(log.batch(g))
    row = await view.get(g.id)
    assert (row.state, row.outcome, row.watermark_payload) == ("published", "allow", "beef")
    assert row.trace[0]["code"] == "ID-VERIFIED"
    assert row.published_at is not None and await view.position() == log.position


async def test_replaying_a_batch_applies_each_event_once(view: Any):
    log = Log()
    g = Generation.request(MEMBER, uuid4(), "x", (), 5)
    g.decide(MEMBER, "allow", (), (), (), {})
    g.hold_for_review(WORKER, uuid4(), ("SAFETY",))
    batch = log.batch(g)
    await view.apply(batch)
    await view.apply(batch)  # a restart that re-reads the same events
    row = await view.get(g.id)
    assert row.state == "held" and len(row.case_ids) == 1


async def test_an_approved_hold_resumes_where_it_stopped(view: Any):
    log = Log()
    g = Generation.request(MEMBER, uuid4(), "x", (), 5)
    g.decide(MEMBER, "allow", (), (), (), {})
    g.record_render(WORKER, "d" * 64, 10, 1.0, "w", 1)
    g.hold_for_review(WORKER, uuid4(), ("SAFETY",))
    g.approve(WORKER, g.case_ids[0])
    await view.apply(log.batch(g))
    assert (await view.get(g.id)).state == "rendered"


async def test_requester_listing_is_newest_first_and_pages_with_a_cursor(view: Any):
    log = Log()
    me, other = uuid4(), uuid4()
    mine = [Generation.request(MEMBER, me, f"scene {i}", (), 5) for i in range(5)]
    await view.apply(log.batch(*mine, Generation.request(MEMBER, other, "theirs", (), 5)))
    first, cursor = await view.list_by_requester(me, limit=3)
    assert [r.prompt for r in first] == ["scene 4", "scene 3", "scene 2"]
    rest, end = await view.list_by_requester(me, cursor=cursor, limit=3)
    assert [r.prompt for r in rest] == ["scene 1", "scene 0"] and end is None


async def test_an_approved_hold_after_the_scan_resumes_at_scanned(view: Any):
    log = Log()
    g = Generation.request(MEMBER, uuid4(), "x", (), 5)
    g.decide(MEMBER, "allow", (), (), (), {})
    g.record_render(WORKER, "d" * 64, 10, 1.0, "w", 1)
    g.record_scan(WORKER, {})
    g.hold_for_review(WORKER, uuid4(), ("FACE-NOT-OTHERS",))
    g.approve(WORKER, g.case_ids[0])
    await view.apply(log.batch(g))
    assert (await view.get(g.id)).state == g.state == "scanned"


@pytest.mark.integration
async def test_a_view_whose_table_shape_changed_is_rebuilt_empty(pg_schema: tuple[str, str]):
    dsn, schema = pg_schema
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        old = PostgresGenerationStatusView(pool, schema)
        await old.create()
        await old.apply(Log().batch(published(uuid4())))
        assert await old.position() > 0

        class NextShape(PostgresGenerationStatusView):
            version = PostgresGenerationStatusView.version + 1

        new = NextShape(pool, schema)
        await new.create()
        assert await new.position() == 0  # the runner replays the log into it
    finally:
        await pool.close()
