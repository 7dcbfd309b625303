"""Contract of the provenance read model (serial → generation and its public record), run on
the in-memory and PostgreSQL views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest

from domain.actors import Actor, Role
from domain.generation import Generation
from domain.member import Member
from projections.provenance import InMemoryProvenanceView, PostgresProvenanceView
from tests.views import STORES, Log, open_view

MEMBER = Actor("m", Role.MEMBER)
WORKER = Actor("w", Role.WORKER)
SERIAL = bytes.fromhex("5e7a11ed0001")


@pytest.fixture(params=STORES)
async def view(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    async with open_view(request, InMemoryProvenanceView, PostgresProvenanceView) as opened:
        yield opened


def watermarked(requester: Any, serial: bytes = SERIAL) -> Generation:
    g = Generation.request(MEMBER, requester, "a lighthouse at dusk", (), 5)
    g.decide(MEMBER, "allow", (), (), (), {})
    g.record_render(WORKER, "a" * 64, 10, 1.0, "w", 1)
    g.record_scan(WORKER, {})
    g.assign_serial(WORKER, serial.hex())
    g.record_watermark(WORKER, serial.hex(), "m" * 64, "p" * 64)
    return g


async def test_a_serial_names_its_published_generation_with_the_creators_handle(view: Any):
    log = Log()
    member = Member.register(MEMBER, "lumiere")
    g = watermarked(member.id)
    g.publish(WORKER)
    await view.apply(log.batch(member, g))

    record = await view.by_serial(SERIAL)

    assert record.generation_id == g.id and record.creator_handle == "lumiere"
    assert (record.state, record.published, record.taken_down) == ("published", True, False)
    assert record.payload == SERIAL.hex() and record.published_at is not None
    assert record.created_at == (await view.get(g.id)).created_at
    assert await view.position() == log.position


async def test_an_unknown_serial_names_nothing(view: Any):
    log = Log()
    await view.apply(log.batch(watermarked(uuid4())))
    assert await view.by_serial(bytes(6)) is None
    assert await view.get(uuid4()) is None


async def test_a_takedown_and_a_restore_show_in_the_public_state(view: Any):
    log = Log()
    g = watermarked(uuid4())
    g.publish(WORKER)
    await view.apply(log.batch(g))
    g.take_down(WORKER, {"event": "Cameo.Disabled"})
    await view.apply(log.batch(g))
    record = await view.by_serial(SERIAL)
    assert (record.state, record.taken_down, record.published) == ("taken_down", True, False)
    assert record.taken_down_at is not None

    g.restore(WORKER, uuid4())
    await view.apply(log.batch(g))
    restored = await view.by_serial(SERIAL)
    assert restored.state == "published" and restored.taken_down_at is None


async def test_a_held_video_resumes_where_it_stopped_once_approved(view: Any):
    log = Log()
    g = watermarked(uuid4())
    case = uuid4()
    g.hold_for_review(WORKER, case, ("SAFETY",))
    await view.apply(log.batch(g))
    assert (await view.by_serial(SERIAL)).state == "held"
    g.approve(WORKER, case)
    await view.apply(log.batch(g))
    assert (await view.by_serial(SERIAL)).state == "in_progress"
    g.publish(WORKER)
    g.restrict(WORKER, case, "POLICY-1")
    await view.apply(log.batch(g))
    assert (await view.by_serial(SERIAL)).state == "restricted"


async def test_a_deleted_generation_is_still_traced_and_says_deleted(view: Any):
    log = Log()
    g = watermarked(uuid4())
    g.publish(WORKER)
    g.delete(MEMBER, "author")
    await view.apply(log.batch(g))
    assert (await view.by_serial(SERIAL)).state == "deleted"


async def test_replaying_a_batch_applies_each_event_once(view: Any):
    log = Log()
    member = Member.register(MEMBER, "replayed")
    first, second = watermarked(member.id), watermarked(member.id, bytes.fromhex("0000000000ff"))
    batch = log.batch(member, first, second)
    await view.apply(batch)
    await view.apply(batch)  # a restart that re-reads the same events
    assert (await view.by_serial(bytes.fromhex("0000000000ff"))).generation_id == second.id
    assert (await view.by_serial(SERIAL)).generation_id == first.id
