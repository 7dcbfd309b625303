"""Contract of the audit read model, run on the in-memory and PostgreSQL views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.actors import Actor, Role
from domain.aggregate import hash_secret
from domain.generation import Generation
from domain.idempotency import IdempotencyRecord
from domain.identity import Challenge, Identity
from domain.member import Member
from domain.staff import Staff
from projections.audit import REDACTED, InMemoryAuditView, PostgresAuditView
from tests.views import STORES, Log, open_view

ADMIN = Actor("admin-1", Role.ADMIN)
WORKER = Actor("worker-1", Role.WORKER)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(params=STORES)
async def view(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    async with open_view(request, InMemoryAuditView, PostgresAuditView) as opened:
        yield opened




async def test_an_aggregates_history_lists_each_event_with_its_actor_in_order(view: Any):
    log = Log()
    member = Member.register(ADMIN, "ada")
    member.suspend(ADMIN, "spam")
    member.reinstate(ADMIN)
    await view.apply(log.batch(member))
    history, cursor = await view.history(member.id)
    assert [(e.aggregate_type, e.event, e.version) for e in history] == [
        ("Member", "Registered", 1), ("Member", "Suspended", 2), ("Member", "Reinstated", 3)]
    assert {(e.actor_id, e.actor_role) for e in history} == {("admin-1", "admin")}
    assert history[1].summary == {"reason": "spam"} and cursor is None
    assert history[0].position < history[1].position < history[2].position
    assert await view.position() == log.position


async def test_secret_digests_face_templates_and_challenges_never_appear(view: Any):
    log = Log()
    staff = Staff.enrol(ADMIN, "rita", Role.REVIEWER)
    staff.issue_key(ADMIN, "k1", "the-secret", "initial")
    member = Actor(str(uuid4()), Role.MEMBER)
    identity = Identity.create(member, UUID(member.id))
    challenge = Challenge("nonce-123", "482", ("left", "up"), NOW + timedelta(minutes=5))
    identity.start_verification(member, challenge)
    identity.submit(member, "nonce-123", "d" * 64, NOW)
    identity.verify(WORKER, b"template-bytes", "model-1", 0.9, 0.95)
    await view.apply(log.batch(staff, identity))

    keys, _ = await view.history(staff.id)
    issued = next(e for e in keys if e.event == "KeyIssued")
    assert issued.summary["secret_digest"] == REDACTED
    assert issued.summary["key_id"] == "k1" and issued.summary["label"] == "initial"
    verification, _ = await view.history(identity.id)
    assert [e.event for e in verification] == [
        "Created", "VerificationStarted", "VerificationSubmitted", "Verified"]
    verified = verification[-1].summary
    assert verified["template_ciphertext"] == REDACTED and verified["model_id"] == "model-1"
    assert verification[1].summary["nonce"] == REDACTED
    assert verification[1].summary["digits"] == REDACTED
    shown = repr(keys + verification)
    for secret in ("the-secret", hash_secret("the-secret"), "template-bytes", "nonce-123"):
        assert secret not in shown


async def test_large_fields_are_summarised_and_idempotency_records_skipped(view: Any):
    log = Log()
    g = Generation.request(Actor(str(uuid4()), Role.MEMBER), uuid4(), "x" * 500, (), 5)
    trace = tuple({"code": f"R{i}", "outcome": "pass", "evidence": {"a": {"b": 1}}}
                  for i in range(3))
    g.decide(WORKER, "allow", (), trace, (), {})
    record = IdempotencyRecord.record(ADMIN, uuid4(), "x", "f", {"secret": "s"})
    await view.apply(log.batch(g, record))
    requested, decided = (await view.history(g.id))[0]
    assert requested.summary["prompt"].endswith("…") and len(requested.summary["prompt"]) < 300
    assert decided.summary["trace"][0]["code"] == "R0"
    assert decided.summary["trace"][0]["evidence"] == "{1 fields}"
    assert (await view.history(record.id))[0] == []


async def test_by_actor_lists_newest_first_and_pages_with_a_cursor(view: Any):
    log = Log()
    members = [Member.register(ADMIN, f"m{i}") for i in range(5)]
    await view.apply(log.batch(*members, Member.register(WORKER, "other")))
    first, cursor = await view.by_actor_id(ADMIN.id, limit=3)
    assert [e.summary["handle"] for e in first] == ["m4", "m3", "m2"]
    rest, end = await view.by_actor_id(ADMIN.id, cursor=cursor, limit=3)
    assert [e.summary["handle"] for e in rest] == ["m1", "m0"] and end is None


async def test_history_pages_with_a_cursor(view: Any):
    log = Log()
    member = Member.register(ADMIN, "bo")
    for i in range(4):
        member.change_tier(ADMIN, ("pro", "free")[i % 2])
    await view.apply(log.batch(member))
    first, cursor = await view.history(member.id, limit=2)
    rest, end = await view.history(member.id, cursor=cursor, limit=10)
    assert [e.version for e in first + rest] == [1, 2, 3, 4, 5] and end is None


async def test_replaying_a_batch_applies_each_event_once(view: Any):
    log = Log()
    member = Member.register(ADMIN, "cy")
    batch = log.batch(member)
    await view.apply(batch)
    await view.apply(batch)
    assert len((await view.history(member.id))[0]) == 1
