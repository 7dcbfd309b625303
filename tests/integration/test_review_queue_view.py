"""Contract of the review queue read model, run on the in-memory and PostgreSQL views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.actors import Actor, Role
from domain.report import Report
from domain.review_case import ReviewCase
from projections.review_queue import InMemoryReviewQueueView, PostgresReviewQueueView
from tests.views import STORES, Log, open_view

WORKER = Actor("w", Role.WORKER)
ALICE = Actor("reviewer-alice", Role.REVIEWER)
BOB = Actor("reviewer-bob", Role.REVIEWER)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(params=STORES)
async def view(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    async with open_view(request, InMemoryReviewQueueView, PostgresReviewQueueView) as opened:
        yield opened




def case(priority: str = "normal", owner: Any = None, reason: str = "SAFETY") -> ReviewCase:
    return ReviewCase.open(WORKER, "generation", uuid4(), owner or uuid4(), reason,
                           {"safety": {"label": "violence", "score": 0.55},
                            "frames": ["f/0001.png"]}, priority)


async def test_a_case_row_follows_claim_comments_decision_and_appeal(view: Any):
    log, author = Log(), uuid4()
    c = case("high", owner=author)
    c.claim(ALICE, NOW)
    c.comment(ALICE, "looks staged", internal=True)
    c.comment(ALICE, "your video shows a weapon", internal=False)
    c.decide(ALICE, "remove", "SAFETY-1", NOW)
    c.appeal(Actor(str(author), Role.MEMBER), "it is a toy")
    await view.apply(log.batch(c))

    row = await view.get(c.id)
    assert (row.state, row.decision, row.policy_code, row.decided_by) == (
        "appealed", "remove", "SAFETY-1", ALICE.id)
    assert row.appeal_text == "it is a toy" and row.claimed_by is None
    assert row.evidence["safety"]["score"] == 0.55 and row.evidence["frames"] == ["f/0001.png"]
    assert [(n["text"], n["internal"]) for n in row.comments] == [
        ("looks staged", True), ("your video shows a weapon", False)]
    assert [n["text"] for n in row.notes_to_author] == ["your video shows a weapon"]

    c.claim(BOB, NOW)
    c.decide_appeal(BOB, "approve", "OK-1", NOW)
    await view.apply(log.batch(c))
    row = await view.get(c.id)
    assert (row.state, row.appeal_decision, row.appeal_decided_by) == (
        "closed", "approve", BOB.id)
    assert await view.position() == log.position


async def test_the_queue_lists_urgent_first_and_oldest_first_within_a_priority(view: Any):
    log = Log()
    old_normal, high, new_normal, low = case("normal"), case("high"), case("normal"), case("low")
    await view.apply(log.batch(old_normal, high, new_normal, low))
    rows, _ = await view.list_cases()
    assert [r.id for r in rows] == [high.id, old_normal.id, new_normal.id, low.id]

    only_high, _ = await view.list_cases(max_priority=1)
    assert [r.id for r in only_high] == [high.id]


async def test_escalating_a_case_moves_it_to_the_front_and_its_holder_keeps_it(view: Any):
    log = Log()
    high, normal, released, moved = case("high"), case("normal"), case("low"), case("low")
    normal.claim(ALICE, NOW)
    normal.escalate(ALICE, "a minor may be shown", NOW, to_queue=normal.queue)
    released.claim(ALICE, NOW)
    released.escalate(ALICE, "needs a senior", NOW, to_queue=released.queue, release=True)
    moved.claim(ALICE, NOW)
    moved.escalate(ALICE, "for the seniors", NOW, to_queue="senior")
    await view.apply(log.batch(high, normal, released, moved))
    rows, _ = await view.list_cases()
    assert [r.id for r in rows] == [normal.id, released.id, moved.id, high.id]
    assert rows[0].escalated and rows[0].claimed_by == ALICE.id and rows[0].priority == 0
    assert rows[1].claimed_by is None
    assert (rows[2].queue, rows[2].claimed_by) == ("senior", None)
    seniors, _ = await view.list_cases(queues=("senior",))
    assert [r.id for r in seniors] == [moved.id]


async def test_the_queue_pages_with_a_cursor_without_gaps_or_repeats(view: Any):
    log = Log()
    cases = [case(p) for p in ("low", "high", "normal", "high", "urgent", "normal", "low")]
    await view.apply(log.batch(*cases))
    everything, _ = await view.list_cases(limit=100)
    seen, cursor = [], None
    while True:
        rows, cursor = await view.list_cases(cursor=cursor, limit=3)
        seen.extend(r.id for r in rows)
        if cursor is None:
            break
    assert seen == [r.id for r in everything] and len(seen) == len(cases)


async def test_next_case_hides_those_someone_else_holds_an_unexpired_lease_on(view: Any):
    log = Log()
    held_by_bob, held_by_alice, lapsed, free = case(), case(), case(), case()
    held_by_bob.claim(BOB, NOW)
    held_by_alice.claim(ALICE, NOW)
    lapsed.claim(BOB, NOW - timedelta(hours=1))
    await view.apply(log.batch(held_by_bob, held_by_alice, lapsed, free))
    rows, _ = await view.list_cases(available_to=ALICE.id, now=NOW)
    assert [r.id for r in rows] == [held_by_alice.id, lapsed.id, free.id]
    everything, _ = await view.list_cases()
    assert len(everything) == 4


async def test_state_filter_and_excluding_the_viewers_own_content(view: Any):
    log, mine = Log(), uuid4()
    decided, about_me, open_case = case(), case(owner=mine), case()
    decided.claim(ALICE, NOW)
    decided.decide(ALICE, "approve", "OK-1", NOW)
    await view.apply(log.batch(decided, about_me, open_case))
    rows, _ = await view.list_cases(states=("decided",))
    assert [r.id for r in rows] == [decided.id]
    rows, _ = await view.list_cases(excluding_owner=mine)
    assert [r.id for r in rows] == [open_case.id]


async def test_reports_filed_into_a_case_are_counted_and_listed(view: Any):
    log, reporter = Log(), Actor(str(uuid4()), Role.MEMBER)
    c = case("urgent", reason="report: minors")
    reports = [Report.file(reporter, uuid4(), c.subject_id, category, text, c.id)
               for category, text in (("minors", "looks like a child"), ("spam", "again"))]
    for r in reports:
        c.attach_report(reporter, r.id)
    # The command saves the report before the case it opens, as file_report does.
    await view.apply(log.batch(*reports, c))
    row = await view.get(c.id)
    assert row.report_count == 2
    listed = await view.reports(c.id)
    assert [(r.category, r.text) for r in listed] == [
        ("minors", "looks like a child"), ("spam", "again")]


async def test_an_author_lists_cases_about_their_content_newest_first(view: Any):
    log, author = Log(), uuid4()
    first, other, second, third = case(owner=author), case(), case(owner=author), \
        case(owner=author)
    await view.apply(log.batch(first, other, second, third))
    page, cursor = await view.list_by_owner(author, limit=2)
    assert [r.id for r in page] == [third.id, second.id]
    rest, end = await view.list_by_owner(author, cursor=cursor, limit=2)
    assert [r.id for r in rest] == [first.id] and end is None


async def test_replaying_a_batch_applies_each_event_once(view: Any):
    log = Log()
    c = case()
    c.comment(ALICE, "hm", internal=True)
    batch = log.batch(c)
    await view.apply(batch)
    await view.apply(batch)
    assert len((await view.get(c.id)).comments) == 1


async def test_queue_counts_and_listings_follow_cases_between_queues(view: Any):
    log = Log()
    a, b, c = case("high"), case("normal"), case("low")
    c.escalate(ALICE, "for the seniors", NOW, to_queue="senior")
    await view.apply(log.batch(a, b, c))
    counts = await view.queue_counts(datetime.now(UTC))
    assert {q: n for q, (n, _) in counts.items()} == {"general": 2, "senior": 1}
    assert all(age >= 0 for _, age in counts.values())
    a.claim(ALICE, NOW)
    a.decide(ALICE, "approve", "OK-1", NOW)
    await view.apply(log.batch(a))
    counts = await view.queue_counts(datetime.now(UTC))
    assert {q: n for q, (n, _) in counts.items()} == {"general": 1, "senior": 1}
    general, _ = await view.list_cases(queues=("general",))
    assert [r.id for r in general] == [b.id]
    everything, _ = await view.list_cases(states=("open", "decided"))
    assert [r.id for r in everything] == [c.id, a.id, b.id]  # urgent, high, normal
    stats = await view.statistics(datetime.now(UTC))
    assert stats["queues"]["general"]["decided"] == 1
    assert stats["reviewers"][ALICE.id]["decided"] == 1
