"""The review queue: one row per case (subject, evidence, claim, comments, decision, appeal)
and the reports filed into it, listed by priority then age for reviewers and per subject
owner for authors. The same event → change mapping feeds both stores."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.report import Report
from domain.review_case import PRIORITIES, ReviewCase
from projections.base import InMemoryView, RowwisePostgresView, decode_cursor, encode_cursor

WORK_STATES = ("open", "appealed")  # the states a reviewer can act on
LOWEST = max(PRIORITIES.values())


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
    state: str = "open"  # open | decided | appealed | closed
    escalated: bool = False
    escalation_reason: str = ""
    claimed_by: str | None = None
    lease_until: datetime | None = None
    report_count: int = 0
    # {"by", "role", "text", "internal", "at" (ISO 8601)}, oldest first
    comments: tuple[dict[str, Any], ...] = ()
    decision: str | None = None
    policy_code: str = ""
    decided_by: str | None = None
    decided_at: datetime | None = None
    appeal_text: str = ""
    appealed_at: datetime | None = None
    appeal_decision: str | None = None
    appeal_policy_code: str = ""
    appeal_decided_by: str | None = None
    appeal_decided_at: datetime | None = None

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
    unclaimed = {"claimed_by": None, "lease_until": None}
    match event:
        case ReviewCase.Opened():
            # Through JSON once, so both stores hand back the same evidence.
            evidence = json.loads(json.dumps(event.evidence, default=str))
            return {"subject_kind": event.subject_kind, "subject_id": event.subject_id,
                    "subject_owner_id": event.subject_owner_id, "reason": event.reason,
                    "priority": event.priority, "evidence": evidence,
                    "created_at": event.timestamp, **at}
        case ReviewCase.Claimed():
            return {"claimed_by": event.reviewer_id, "lease_until": event.lease_until, **at}
        case ReviewCase.Released():
            return {**unclaimed, **at}
        case ReviewCase.Commented():
            return {"add_comment": {"by": event.actor_id, "role": event.actor_role,
                                    "text": event.text, "internal": event.internal,
                                    "at": event.timestamp.isoformat()}, **at}
        case ReviewCase.Escalated():
            return {"escalated": True, "escalation_reason": event.reason, "priority": 0,
                    **(unclaimed if event.released else {}), **at}
        case ReviewCase.ReportAttached():
            return {"add_report": 1, **at}
        case ReviewCase.Decided():
            return {"state": "decided", "decision": event.decision,
                    "policy_code": event.policy_code, "decided_by": event.actor_id,
                    "decided_at": event.timestamp, **unclaimed, **at}
        case ReviewCase.Appealed():
            return {"state": "appealed", "appeal_text": event.text,
                    "appealed_at": event.timestamp, **at}
        case ReviewCase.AppealDecided():
            return {"state": "closed", "appeal_decision": event.decision,
                    "appeal_policy_code": event.policy_code,
                    "appeal_decided_by": event.actor_id, "appeal_decided_at": event.timestamp,
                    **unclaimed, **at}
    return at


def merge(row: CaseRow, change: dict[str, Any]) -> CaseRow:
    change = dict(change)
    if "add_comment" in change:
        change["comments"] = (*row.comments, change.pop("add_comment"))
    if "add_report" in change:
        change["report_count"] = row.report_count + change.pop("add_report")
    return replace(row, **change)


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
    """Cases in a dict; a listing filters and sorts them (the open queue stays small next to
    the log, and this is the embedded default)."""

    name = "review_queue"

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[UUID, CaseRow] = {}
        self.reports_by_case: dict[UUID, list[ReportRow]] = {}

    def handle(self, position: int, event: Any) -> None:
        report = report_of(position, event)
        if report is not None:
            self.reports_by_case.setdefault(report.case_id, []).append(report)
            return
        change = changes(event)
        if change is None:
            return
        case_id = event.originator_id
        if isinstance(event, ReviewCase.Opened):
            self.rows[case_id] = CaseRow(id=case_id, seq=position, **change)
        elif case_id in self.rows:
            self.rows[case_id] = merge(self.rows[case_id], change)

    async def get(self, case_id: UUID) -> CaseRow | None:
        return self.rows.get(case_id)

    async def reports(self, case_id: UUID) -> list[ReportRow]:
        return list(self.reports_by_case.get(case_id, ()))

    async def list_cases(self, states: tuple[str, ...] = WORK_STATES, max_priority: int = LOWEST,
                         available_to: str | None = None, now: datetime | None = None,
                         excluding_owner: UUID | None = None, cursor: str | None = None,
                         limit: int = 50) -> tuple[list[CaseRow], str | None]:
        """Most urgent first, oldest first within a priority. `available_to` (with `now`)
        hides cases someone else holds an unexpired lease on; `excluding_owner` hides cases
        about that member's content."""
        after = _after(cursor)
        rows = sorted(
            (r for r in self.rows.values()
             if r.state in states and r.priority <= max_priority
             and (after is None or (r.priority, r.seq) > after)
             and not (available_to is not None and now is not None
                      and r.claimed_by_other(available_to, now))
             and (excluding_owner is None or r.subject_owner_id != excluding_owner)),
            key=lambda r: (r.priority, r.seq))
        page = rows[:limit]
        more = len(rows) > limit
        return page, (encode_cursor(page[-1].priority, page[-1].seq) if more else None)

    async def list_by_owner(self, owner_id: UUID, cursor: str | None = None, limit: int = 50
                            ) -> tuple[list[CaseRow], str | None]:
        """Cases about one member's content, newest first."""
        after = decode_cursor(cursor)
        before = int(after[0]) if after else None
        rows = sorted((r for r in self.rows.values() if r.subject_owner_id == owner_id
                       and (before is None or r.seq < before)),
                      key=lambda r: r.seq, reverse=True)
        page = rows[:limit]
        return page, (encode_cursor(page[-1].seq) if len(rows) > limit else None)


_COLUMNS = ("subject_kind", "subject_id", "subject_owner_id", "reason", "priority", "evidence",
            "created_at", "updated_at", "seq", "state", "escalated", "escalation_reason",
            "claimed_by", "lease_until", "report_count", "comments", "decision", "policy_code",
            "decided_by", "decided_at", "appeal_text", "appealed_at", "appeal_decision",
            "appeal_policy_code", "appeal_decided_by", "appeal_decided_at")
_JSON = {"evidence", "comments"}
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
    ddl = (
        "CREATE TABLE IF NOT EXISTS {s}.review_cases ("
        " id UUID PRIMARY KEY, subject_kind TEXT NOT NULL, subject_id UUID NOT NULL,"
        " subject_owner_id UUID, reason TEXT NOT NULL, priority INT NOT NULL,"
        " evidence JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL,"
        " updated_at TIMESTAMPTZ NOT NULL, seq BIGINT NOT NULL, state TEXT NOT NULL,"
        " escalated BOOLEAN NOT NULL, escalation_reason TEXT NOT NULL, claimed_by TEXT,"
        " lease_until TIMESTAMPTZ, report_count INT NOT NULL, comments JSONB NOT NULL,"
        " decision TEXT, policy_code TEXT NOT NULL, decided_by TEXT,"
        " decided_at TIMESTAMPTZ, appeal_text TEXT NOT NULL, appealed_at TIMESTAMPTZ,"
        " appeal_decision TEXT, appeal_policy_code TEXT NOT NULL, appeal_decided_by TEXT,"
        " appeal_decided_at TIMESTAMPTZ)",
        "CREATE INDEX IF NOT EXISTS review_cases_queue"
        " ON {s}.review_cases (state, priority, seq)",
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
                         limit: int = 50) -> tuple[list[CaseRow], str | None]:
        after = _after(cursor)
        hide_claimed = available_to is not None and now is not None
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.review_cases WHERE state = ANY($1) AND priority <= $2"
                " AND (NOT $3::bool OR claimed_by IS NULL OR claimed_by = $4"
                "      OR lease_until <= $5)"
                " AND ($6::uuid IS NULL OR subject_owner_id IS DISTINCT FROM $6)"
                " AND ($7::int IS NULL OR (priority, seq) > ($7, $8::bigint))"
                " ORDER BY priority, seq LIMIT $9"),
                list(states), max_priority, hide_claimed, available_to, now, excluding_owner,
                after[0] if after else None, after[1] if after else None, limit + 1)
        rows = [_row(r) for r in records[:limit]]
        more = len(records) > limit
        return rows, (encode_cursor(rows[-1].priority, rows[-1].seq) if more else None)

    async def list_by_owner(self, owner_id: UUID, cursor: str | None = None, limit: int = 50
                            ) -> tuple[list[CaseRow], str | None]:
        after = decode_cursor(cursor)
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.review_cases WHERE subject_owner_id = $1"
                " AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3"),
                owner_id, int(after[0]) if after else None, limit + 1)
        rows = [_row(r) for r in records[:limit]]
        return rows, (encode_cursor(rows[-1].seq) if len(records) > limit else None)


def _db(column: str, value: Any) -> Any:
    if column in _JSON:
        return json.dumps(list(value) if isinstance(value, tuple) else value, default=str)
    return value


def _row(record: Any) -> CaseRow:
    data = {c: record[c] for c in _COLUMNS}
    for column in _JSON:
        data[column] = json.loads(data[column])
    data["comments"] = tuple(data["comments"])
    return CaseRow(id=record["id"], **data)
