"""The review queue: one row per case (subject, queue, evidence, claim, comments, decision,
appeal) and the reports filed into it, listed by priority then age for reviewers and per
subject owner for authors, with the queues' counts and the statistics per queue and per
reviewer. The same event → change mapping feeds both stores."""

from __future__ import annotations

import heapq
import json
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import Any
from uuid import UUID

import asyncpg

from domain.report import Report
from domain.review_case import PRIORITIES, WORK_STATES, ReviewCase
from projections.base import InMemoryView, RowwisePostgresView, decode_cursor, encode_cursor

LOWEST = max(PRIORITIES.values())
ACTIONS = ("remove", "restrict")  # decisions that act against content (the action rate)


@dataclass(frozen=True)
class CaseRow:
    id: UUID
    subject_kind: str
    subject_id: UUID
    subject_owner_id: UUID | None
    reason: str
    priority: int  # 0 (urgent) to 3 (low): see domain.review_case.PRIORITIES
    evidence: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    seq: int  # log position of the case's opening: its age in the queue
    queue: str = "general"
    labels: tuple[str, ...] = ()
    # A golden-set item: {"of", "decision", "policy_code"}; never shown to reviewers.
    calibration: dict[str, str] = field(default_factory=dict)
    queued_at: datetime | None = None  # when it entered its queue (opened, moved, appealed)
    state: str = "open"  # open | decided | appealed | closed
    escalated: bool = False
    escalation_reason: str = ""
    claimed_by: str | None = None
    claimed_at: datetime | None = None  # the current holder's first claim (app clock)
    lease_until: datetime | None = None
    report_count: int = 0
    # {"by", "role", "text", "internal", "at" (ISO 8601)}, oldest first
    comments: tuple[dict[str, Any], ...] = ()
    decision: str | None = None
    policy_code: str = ""
    decided_by: str | None = None
    decided_at: datetime | None = None
    decided_queue: str = ""
    handle_seconds: float | None = None  # claim to decision
    appeal_text: str = ""
    appealed_at: datetime | None = None
    appeal_decision: str | None = None
    appeal_policy_code: str = ""
    appeal_decided_by: str | None = None
    appeal_decided_at: datetime | None = None
    appeal_handle_seconds: float | None = None

    def claimed_by_other(self, reviewer_id: str, now: datetime) -> bool:
        """Someone else holds an unexpired lease on it."""
        return self.claimed_by is not None and self.claimed_by != reviewer_id \
            and self.lease_until is not None and now < self.lease_until

    @property
    def notes_to_author(self) -> tuple[dict[str, Any], ...]:
        return tuple(c for c in self.comments if not c["internal"])


@dataclass(frozen=True)
class ReportRow:
    id: UUID
    case_id: UUID
    reporter_id: UUID
    generation_id: UUID
    category: str
    text: str
    filed_at: datetime
    seq: int


def changes(event: Any) -> dict[str, Any] | None:
    """The fields a ReviewCase event sets on its row (None: not a case event)."""
    if not isinstance(event, ReviewCase.Event):
        return None
    at = {"updated_at": event.timestamp}
    unclaimed = {"claimed_by": None, "claimed_at": None, "lease_until": None}
    match event:
        case ReviewCase.Opened():
            # Through JSON once, so both stores hand back the same evidence.
            evidence = json.loads(json.dumps(event.evidence, default=str))
            return {"subject_kind": event.subject_kind, "subject_id": event.subject_id,
                    "subject_owner_id": event.subject_owner_id, "reason": event.reason,
                    "priority": event.priority, "evidence": evidence,
                    "queue": event.queue, "labels": tuple(event.labels),
                    "calibration": dict(event.calibration), "queued_at": event.timestamp,
                    "created_at": event.timestamp, **at}
        case ReviewCase.Claimed():
            return {"claimed_by": event.reviewer_id, "claimed_at": event.claimed_at,
                    "lease_until": event.lease_until, **at}
        case ReviewCase.Released():
            return {**unclaimed, **at}
        case ReviewCase.Commented():
            return {"add_comment": {"by": event.actor_id, "role": event.actor_role,
                                    "text": event.text, "internal": event.internal,
                                    "at": event.timestamp.isoformat()}, **at}
        case ReviewCase.Escalated():
            moved = {"queue": event.to_queue, "queued_at": event.timestamp} \
                if event.to_queue else {}
            return {"escalated": True, "escalation_reason": event.reason, "priority": 0,
                    **moved, **(unclaimed if event.released else {}), **at}
        case ReviewCase.ReportAttached():
            return {"add_report": 1, **at}
        case ReviewCase.Decided():
            return {"state": "decided", "decision": event.decision,
                    "policy_code": event.policy_code, "decided_by": event.actor_id,
                    "decided_at": event.timestamp, "handle_seconds": event.handle_seconds,
                    "decided_in": True, **unclaimed, **at}
        case ReviewCase.Appealed():
            moved = {"queue": event.to_queue} if event.to_queue else {}
            return {"state": "appealed", "appeal_text": event.text,
                    "appealed_at": event.timestamp, "queued_at": event.timestamp,
                    **moved, **at}
        case ReviewCase.AppealDecided():
            return {"state": "closed", "appeal_decision": event.decision,
                    "appeal_policy_code": event.policy_code,
                    "appeal_decided_by": event.actor_id, "appeal_decided_at": event.timestamp,
                    "appeal_handle_seconds": event.handle_seconds, **unclaimed, **at}
    return at


def merge(row: CaseRow, change: dict[str, Any]) -> CaseRow:
    change = dict(change)
    if "add_comment" in change:
        change["comments"] = (*row.comments, change.pop("add_comment"))
    if "add_report" in change:
        change["report_count"] = row.report_count + change.pop("add_report")
    if change.pop("decided_in", False):
        change["decided_queue"] = row.queue
    return replace(row, **change)


@dataclass
class Tally:
    """Decisions and their outcomes, for one queue or one reviewer."""

    pending: int = 0
    oldest: datetime | None = None
    decided: int = 0
    actioned: int = 0
    handle_seconds: float = 0.0
    handled: int = 0
    appealed: int = 0
    overturned: int = 0
    calibration: int = 0
    agreed: int = 0

    def count(self, decision: str, seconds: float | None) -> None:
        self.decided += 1
        self.actioned += decision in ACTIONS
        if seconds is not None:
            self.handle_seconds += seconds
            self.handled += 1

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "oldest_seconds": (now - self.oldest).total_seconds() if self.oldest else None,
            "decided": self.decided,
            "average_handle_seconds": round(self.handle_seconds / self.handled, 1)
            if self.handled else None,
            "action_rate": round(self.actioned / self.decided, 3) if self.decided else None,
            "appealed": self.appealed, "overturned": self.overturned,
            "calibration_decided": self.calibration,
            "calibration_agreement": round(self.agreed / self.calibration, 3)
            if self.calibration else None}


def statistics(rows: Iterable[CaseRow], now: datetime) -> dict[str, dict[str, Any]]:
    """Per queue and per reviewer: pending, oldest, decided, average handle time (claim to
    decision), action rate (remove or restrict), appealed and overturned on appeal (the
    first decision's queue and reviewer), and for reviewers the agreement on calibration
    items (which count nowhere else)."""
    queues: dict[str, Tally] = {}
    reviewers: dict[str, Tally] = {}
    for row in rows:
        queue = queues.setdefault(row.queue, Tally())
        if row.state in WORK_STATES:
            queue.pending += 1
            since = row.queued_at or row.created_at
            queue.oldest = since if queue.oldest is None else min(queue.oldest, since)
        if row.decision is None or row.decided_by is None:
            continue
        first = reviewers.setdefault(row.decided_by, Tally())
        if row.calibration:
            first.calibration += 1
            first.agreed += (row.decision == row.calibration.get("decision")
                             and row.policy_code == row.calibration.get("policy_code"))
            continue
        where = queues.setdefault(row.decided_queue or row.queue, Tally())
        for tally in (where, first):
            tally.count(row.decision, row.handle_seconds)
            tally.appealed += row.appealed_at is not None
        if row.appeal_decision is not None and row.appeal_decided_by is not None:
            overturned = row.appeal_decision != row.decision
            where.overturned += overturned
            first.overturned += overturned
            second = reviewers.setdefault(row.appeal_decided_by, Tally())
            for tally in (queue, second):
                tally.count(row.appeal_decision, row.appeal_handle_seconds)
    return {"queues": {k: v.as_dict(now) for k, v in sorted(queues.items())},
            "reviewers": {k: v.as_dict(now) for k, v in sorted(reviewers.items())}}


def report_of(position: int, event: Any) -> ReportRow | None:
    if not isinstance(event, Report.Filed):
        return None
    return ReportRow(id=event.originator_id, case_id=event.case_id,
                     reporter_id=event.reporter_id, generation_id=event.generation_id,
                     category=event.category, text=event.text, filed_at=event.timestamp,
                     seq=position)


def _after(cursor: str | None) -> tuple[int, int] | None:
    values = decode_cursor(cursor)
    return (int(values[0]), int(values[1])) if values else None


class InMemoryReviewQueueView(InMemoryView):
    """Cases in a dict; the cases waiting (open or appealed) also in one sorted list per
    queue, by (priority, seq) for the listing and by (queued_at, seq) for the oldest, so a
    queue page costs its page, not a scan of every case. Other listings (decided cases)
    filter and sort the dict."""

    name = "review_queue"

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[UUID, CaseRow] = {}
        self.reports_by_case: dict[UUID, list[ReportRow]] = {}
        self.waiting: dict[str, list[tuple[int, int, UUID]]] = {}
        self.ages: dict[str, list[tuple[datetime, int]]] = {}

    def handle(self, position: int, event: Any) -> None:
        report = report_of(position, event)
        if report is not None:
            self.reports_by_case.setdefault(report.case_id, []).append(report)
            return
        change = changes(event)
        if change is None:
            return
        case_id = event.originator_id
        before = self.rows.get(case_id)
        if isinstance(event, ReviewCase.Opened):
            after = CaseRow(id=case_id, seq=position, **change)
        elif before is not None:
            after = merge(before, change)
        else:
            return
        self.rows[case_id] = after
        self._unindex(before)
        self._index(after)

    def _index(self, row: CaseRow) -> None:
        if row.state in WORK_STATES:
            insort(self.waiting.setdefault(row.queue, []), (row.priority, row.seq, row.id))
            insort(self.ages.setdefault(row.queue, []),
                   (row.queued_at or row.created_at, row.seq))

    def _unindex(self, row: CaseRow | None) -> None:
        if row is None or row.state not in WORK_STATES:
            return
        for index, entry in ((self.waiting[row.queue], (row.priority, row.seq, row.id)),
                             (self.ages[row.queue], (row.queued_at or row.created_at,
                                                     row.seq))):
            at = bisect_left(index, entry)
            if at < len(index) and index[at] == entry:
                del index[at]

    async def get(self, case_id: UUID) -> CaseRow | None:
        return self.rows.get(case_id)

    async def reports(self, case_id: UUID) -> list[ReportRow]:
        return list(self.reports_by_case.get(case_id, ()))

    async def list_cases(self, states: tuple[str, ...] = WORK_STATES, max_priority: int = LOWEST,
                         available_to: str | None = None, now: datetime | None = None,
                         excluding_owner: UUID | None = None, cursor: str | None = None,
                         limit: int = 50, queues: tuple[str, ...] | None = None
                         ) -> tuple[list[CaseRow], str | None]:
        """Most urgent first, oldest first within a priority. `available_to` (with `now`)
        hides cases someone else holds an unexpired lease on; `excluding_owner` hides cases
        about that member's content; `queues`, when given, keeps those queues' cases."""
        after = _after(cursor)

        def wanted(r: CaseRow) -> bool:
            return (r.state in states and r.priority <= max_priority
                    and not (available_to is not None and now is not None
                             and r.claimed_by_other(available_to, now))
                    and (excluding_owner is None or r.subject_owner_id != excluding_owner))

        if set(states) <= set(WORK_STATES):  # the waiting cases: walk the sorted lists
            start = (after[0], after[1], UUID(int=2**128 - 1)) if after else None
            lists = [index[bisect_right(index, start):] if start else index
                     for name, index in self.waiting.items()
                     if queues is None or name in queues]
            walk = (self.rows[entry[2]] for entry in heapq.merge(*lists))
            rows = list(islice((r for r in walk if wanted(r)), limit + 1))
        else:
            rows = sorted((r for r in self.rows.values() if wanted(r)
                           and (queues is None or r.queue in queues)
                           and (after is None or (r.priority, r.seq) > after)),
                          key=lambda r: (r.priority, r.seq))
        page = rows[:limit]
        more = len(rows) > limit
        return page, (encode_cursor(page[-1].priority, page[-1].seq) if more else None)

    async def list_by_owner(self, owner_id: UUID, cursor: str | None = None, limit: int = 50
                            ) -> tuple[list[CaseRow], str | None]:
        """Cases about one member's content, newest first (never calibration items)."""
        after = decode_cursor(cursor)
        before = int(after[0]) if after else None
        rows = sorted((r for r in self.rows.values() if r.subject_owner_id == owner_id
                       and not r.calibration and (before is None or r.seq < before)),
                      key=lambda r: r.seq, reverse=True)
        page = rows[:limit]
        return page, (encode_cursor(page[-1].seq) if len(rows) > limit else None)

    async def queue_counts(self, now: datetime) -> dict[str, tuple[int, float]]:
        return {name: (len(index), (now - self.ages[name][0][0]).total_seconds())
                for name, index in self.waiting.items() if index}

    async def statistics(self, now: datetime) -> dict[str, dict[str, Any]]:
        return statistics(self.rows.values(), now)

    async def calibration_items(self) -> list[CaseRow]:
        return sorted((r for r in self.rows.values() if r.calibration), key=lambda r: r.seq)


_COLUMNS = ("subject_kind", "subject_id", "subject_owner_id", "reason", "priority", "evidence",
            "created_at", "updated_at", "seq", "queue", "labels", "calibration", "queued_at",
            "state", "escalated", "escalation_reason", "claimed_by", "claimed_at",
            "lease_until", "report_count", "comments", "decision", "policy_code",
            "decided_by", "decided_at", "decided_queue", "handle_seconds", "appeal_text",
            "appealed_at", "appeal_decision", "appeal_policy_code", "appeal_decided_by",
            "appeal_decided_at", "appeal_handle_seconds")
_JSON = {"evidence", "comments", "labels", "calibration"}
# What the statistics read (not the evidence or comments).
_STATS_COLUMNS = ("queue", "calibration", "queued_at", "created_at", "state", "decision",
                  "policy_code", "decided_by", "decided_queue", "handle_seconds",
                  "appealed_at", "appeal_decision", "appeal_decided_by",
                  "appeal_handle_seconds")
# Built from the constant column names above; every value goes in as a parameter.
_UPSERT = (
    f"INSERT INTO {{s}}.review_cases (id, {', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ($1, {', '.join(f'${i + 2}' for i in range(len(_COLUMNS)))}) "
    f"ON CONFLICT (id) DO UPDATE SET "
    f"{', '.join(f'{c} = EXCLUDED.{c}' for c in _COLUMNS if c not in ('created_at', 'seq'))}")


class PostgresReviewQueueView(RowwisePostgresView):
    """`review_cases` keyed by case id, indexed on (state, priority, seq) for the queue and
    on (subject_owner_id, seq) for authors; `review_reports` keyed by report id."""

    name = "review_queue"
    version = 2  # 2: queues, labels, calibration items and handle times
    ddl = (
        "CREATE TABLE IF NOT EXISTS {s}.review_cases ("
        " id UUID PRIMARY KEY, subject_kind TEXT NOT NULL, subject_id UUID NOT NULL,"
        " subject_owner_id UUID, reason TEXT NOT NULL, priority INT NOT NULL,"
        " evidence JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL,"
        " updated_at TIMESTAMPTZ NOT NULL, seq BIGINT NOT NULL, queue TEXT NOT NULL,"
        " labels JSONB NOT NULL, calibration JSONB NOT NULL, queued_at TIMESTAMPTZ,"
        " state TEXT NOT NULL, escalated BOOLEAN NOT NULL, escalation_reason TEXT NOT NULL,"
        " claimed_by TEXT, claimed_at TIMESTAMPTZ, lease_until TIMESTAMPTZ,"
        " report_count INT NOT NULL, comments JSONB NOT NULL, decision TEXT,"
        " policy_code TEXT NOT NULL, decided_by TEXT, decided_at TIMESTAMPTZ,"
        " decided_queue TEXT NOT NULL, handle_seconds DOUBLE PRECISION,"
        " appeal_text TEXT NOT NULL, appealed_at TIMESTAMPTZ, appeal_decision TEXT,"
        " appeal_policy_code TEXT NOT NULL, appeal_decided_by TEXT,"
        " appeal_decided_at TIMESTAMPTZ, appeal_handle_seconds DOUBLE PRECISION)",
        "CREATE INDEX IF NOT EXISTS review_cases_queue"
        " ON {s}.review_cases (state, priority, seq)",
        "CREATE INDEX IF NOT EXISTS review_cases_by_queue"
        " ON {s}.review_cases (queue, state, queued_at)",
        "CREATE INDEX IF NOT EXISTS review_cases_owner"
        " ON {s}.review_cases (subject_owner_id, seq DESC)",
        "CREATE TABLE IF NOT EXISTS {s}.review_reports ("
        " id UUID PRIMARY KEY, case_id UUID NOT NULL, reporter_id UUID NOT NULL,"
        " generation_id UUID NOT NULL, category TEXT NOT NULL, text TEXT NOT NULL,"
        " filed_at TIMESTAMPTZ NOT NULL, seq BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS review_reports_case ON {s}.review_reports (case_id, seq)",
    )

    async def handle(self, conn: asyncpg.Connection, position: int, event: Any) -> None:
        report = report_of(position, event)
        if report is not None:
            await conn.execute(self.q(
                "INSERT INTO {s}.review_reports VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT (id) DO NOTHING"),
                report.id, report.case_id, report.reporter_id, report.generation_id,
                report.category, report.text, report.filed_at, report.seq)
            return
        change = changes(event)
        if change is None:
            return
        case_id = event.originator_id
        if isinstance(event, ReviewCase.Opened):
            row = CaseRow(id=case_id, seq=position, **change)
        else:
            record = await conn.fetchrow(self.q(
                "SELECT * FROM {s}.review_cases WHERE id = $1 FOR UPDATE"), case_id)
            if record is None:
                return
            row = merge(_row(record), change)
        await conn.execute(self.q(_UPSERT), case_id, *[_db(c, getattr(row, c)) for c in _COLUMNS])

    async def get(self, case_id: UUID) -> CaseRow | None:
        async with self.pool.acquire() as conn:
            record = await conn.fetchrow(self.q(
                "SELECT * FROM {s}.review_cases WHERE id = $1"), case_id)
        return _row(record) if record else None

    async def reports(self, case_id: UUID) -> list[ReportRow]:
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.review_reports WHERE case_id = $1 ORDER BY seq"), case_id)
        return [ReportRow(**dict(r)) for r in records]

    async def list_cases(self, states: tuple[str, ...] = WORK_STATES, max_priority: int = LOWEST,
                         available_to: str | None = None, now: datetime | None = None,
                         excluding_owner: UUID | None = None, cursor: str | None = None,
                         limit: int = 50, queues: tuple[str, ...] | None = None
                         ) -> tuple[list[CaseRow], str | None]:
        after = _after(cursor)
        hide_claimed = available_to is not None and now is not None
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.review_cases WHERE state = ANY($1) AND priority <= $2"
                " AND (NOT $3::bool OR claimed_by IS NULL OR claimed_by = $4"
                "      OR lease_until <= $5)"
                " AND ($6::uuid IS NULL OR subject_owner_id IS DISTINCT FROM $6)"
                " AND ($7::int IS NULL OR (priority, seq) > ($7, $8::bigint))"
                " AND ($10::text[] IS NULL OR queue = ANY($10))"
                " ORDER BY priority, seq LIMIT $9"),
                [str(x) for x in states], max_priority, hide_claimed, available_to, now,
                excluding_owner, after[0] if after else None, after[1] if after else None,
                limit + 1, list(queues) if queues is not None else None)
        rows = [_row(r) for r in records[:limit]]
        more = len(records) > limit
        return rows, (encode_cursor(rows[-1].priority, rows[-1].seq) if more else None)

    async def list_by_owner(self, owner_id: UUID, cursor: str | None = None, limit: int = 50
                            ) -> tuple[list[CaseRow], str | None]:
        after = decode_cursor(cursor)
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.review_cases WHERE subject_owner_id = $1"
                " AND calibration = '{}'::jsonb"
                " AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3"),
                owner_id, int(after[0]) if after else None, limit + 1)
        rows = [_row(r) for r in records[:limit]]
        return rows, (encode_cursor(rows[-1].seq) if len(records) > limit else None)

    async def queue_counts(self, now: datetime) -> dict[str, tuple[int, float]]:
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT queue, count(*) AS n, min(coalesce(queued_at, created_at)) AS oldest"
                " FROM {s}.review_cases WHERE state = ANY($1) GROUP BY queue"),
                [str(x) for x in WORK_STATES])
        return {r["queue"]: (r["n"], (now - r["oldest"]).total_seconds()) for r in records}

    async def statistics(self, now: datetime) -> dict[str, dict[str, Any]]:
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                f"SELECT {', '.join(_STATS_COLUMNS)} FROM {{s}}.review_cases"  # noqa: S608
                " WHERE state = ANY($1) OR decision IS NOT NULL"),
                [str(x) for x in WORK_STATES])
        return statistics((_stats_row(r) for r in records), now)

    async def calibration_items(self) -> list[CaseRow]:
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.review_cases WHERE calibration <> '{}'::jsonb"
                " ORDER BY seq"))
        return [_row(r) for r in records]


def _db(column: str, value: Any) -> Any:
    if column in _JSON:
        return json.dumps(list(value) if isinstance(value, tuple) else value, default=str)
    return value


def _row(record: Any) -> CaseRow:
    data = {c: record[c] for c in _COLUMNS}
    for column in _JSON:
        data[column] = json.loads(data[column])
    data["comments"] = tuple(data["comments"])
    data["labels"] = tuple(data["labels"])
    return CaseRow(id=record["id"], **data)


_BLANK: dict[str, Any] = {"subject_kind": "", "subject_id": UUID(int=0), "subject_owner_id": None,
          "reason": "", "priority": 0, "evidence": {}, "seq": 0}


def _stats_row(record: Any) -> CaseRow:
    data = {c: record[c] for c in _STATS_COLUMNS}
    data["calibration"] = json.loads(data["calibration"])
    return CaseRow(id=UUID(int=0), updated_at=data["created_at"], **_BLANK, **data)
