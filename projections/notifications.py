"""Members' in-app notifications, fed from the log: appearances in drafts and published
videos, takedowns of one's videos with the cause, review outcomes, strikes (added, or
withdrawn on appeal), verification results, and intimate-imagery takedown requests about a
video one appears in. Each view keeps the few facts it needs
(handles, who asked for a generation, whom a case is about) and the members' read
markers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.generation import DECIDED, FINAL, Generation
from domain.identity import Identity
from domain.inbox import Inbox
from domain.member import Member
from domain.review_case import ReviewCase
from domain.takedown import TakedownRequest
from projections.base import InMemoryView, RowwisePostgresView, decode_cursor, encode_cursor

APPEARANCE, TAKEN_DOWN, REVIEW_OUTCOME, VERIFICATION = (
    "appearance", "taken_down", "review_outcome", "verification")
STRIKE = "strike"
TAKEDOWN_REQUEST = "takedown_request"  # an intimate-imagery request about a video one is in
INTIMATE_IMAGERY = "intimate_imagery"  # domain.takedown.CATEGORIES
Fact = tuple[str, str]  # (kind, key)
SELF_CONTAINED = (Member.StrikeAdded, Member.StrikeWithdrawn)  # notify without any fact


@dataclass(frozen=True)
class Notification:
    id: int  # log position * 100 + index: ordered like the log
    member_id: UUID
    kind: str
    data: dict[str, Any]
    created_at: datetime


def facts_of(event: Any) -> list[tuple[str, str, Any]]:
    """What an event teaches the view for later notifications."""
    key = str(event.originator_id)
    match event:
        case Member.Registered():
            return [("handle", key, event.handle)]
        case Generation.Requested():
            return [("requester", key, str(event.requester_id))]
        case Generation.Decided():
            return [("featured", key, [str(m) for m in event.featured_member_ids])]
        case ReviewCase.Opened() if event.subject_owner_id is not None:
            return [("case", key, {"owner": str(event.subject_owner_id),
                                   "subject_kind": event.subject_kind,
                                   "subject_id": str(event.subject_id)})]
        case Identity.Created():
            return [("identity", key, str(event.member_id))]
    return []


def needs(event: Any) -> list[Fact]:
    key = str(event.originator_id)
    match event:
        case Generation.Decided() | Generation.Published() | Generation.TakenDown():
            return [("requester", key), ("featured", key)]
        case ReviewCase.Decided() | ReviewCase.AppealDecided():
            return [("case", key)]
        case Identity.Verified() | Identity.VerificationFailed() | Identity.DuplicateSuspected():
            return [("identity", key)]
        case TakedownRequest.Filed() if event.category == INTIMATE_IMAGERY:
            return [("featured", str(event.generation_id))]
    return []


def notify(event: Any, facts: dict[Fact, Any], handle_of: dict[str, str]
           ) -> list[tuple[str, str, dict[str, Any]]]:
    """(member id, kind, data) for each notification the event makes."""
    key = str(event.originator_id)
    match event:
        case Generation.Decided() if DECIDED[event.outcome] not in FINAL:
            return _appearances(key, facts, handle_of, "draft")
        case Generation.Published():
            return _appearances(key, facts, handle_of, "published")
        case Generation.TakenDown() if ("requester", key) in facts:
            return [(facts[("requester", key)], TAKEN_DOWN,
                     {"generation_id": key, "cause": dict(event.cause)})]
        case ReviewCase.Decided() | ReviewCase.AppealDecided() if ("case", key) in facts:
            case = facts[("case", key)]
            return [(case["owner"], REVIEW_OUTCOME, {
                "case_id": key, "subject_kind": case["subject_kind"],
                "subject_id": case["subject_id"], "decision": event.decision,
                "policy_code": event.policy_code,
                "appeal": isinstance(event, ReviewCase.AppealDecided)})]
        case TakedownRequest.Filed() if event.category == INTIMATE_IMAGERY:
            # The people the video shows (its verified cameos and faces matched to
            # members) hear that someone asked for its removal as intimate imagery.
            gid = str(event.generation_id)
            return [(member, TAKEDOWN_REQUEST, {
                "generation_id": gid, "reference": event.reference,
                "category": event.category, "deadline": event.deadline.isoformat()})
                for member in facts.get(("featured", gid), ())]
        case Member.StrikeAdded():
            return [(key, STRIKE, {"case_id": str(event.case_id), "state": "added",
                                   "policy_code": event.policy_code,
                                   "expires_at": event.expires_at.isoformat()})]
        case Member.StrikeWithdrawn():
            return [(key, STRIKE, {"case_id": str(event.case_id), "state": "withdrawn"})]
        case Identity.Verified() | Identity.VerificationFailed() | Identity.DuplicateSuspected() \
                if ("identity", key) in facts:
            result = {Identity.Verified: "verified", Identity.VerificationFailed: "failed",
                      Identity.DuplicateSuspected: "held_for_review"}[type(event)]
            return [(facts[("identity", key)], VERIFICATION,
                     {"result": result, "reasons": list(getattr(event, "reasons", ()))})]
    return []


def _appearances(key: str, facts: dict[Fact, Any], handle_of: dict[str, str], stage: str
                 ) -> list[tuple[str, str, dict[str, Any]]]:
    requester = facts.get(("requester", key))
    if requester is None:
        return []
    return [(member, APPEARANCE, {"generation_id": key, "stage": stage,
                                  "by_member_id": requester,
                                  "by_handle": handle_of.get(requester, "")})
            for member in facts.get(("featured", key), ()) if member != requester]


class InMemoryNotificationsView(InMemoryView):
    name = "notifications"

    def __init__(self) -> None:
        super().__init__()
        self.facts: dict[Fact, Any] = {}
        self.handles: dict[str, str] = {}
        self.by_member: dict[UUID, list[Notification]] = {}
        self.read: dict[UUID, int] = {}

    def handle(self, position: int, event: Any) -> None:
        if isinstance(event, Inbox.Read):
            member = self._inbox_member(event)
            if member is not None:
                self.read[member] = max(self.read.get(member, 0), event.up_to)
            return
        for kind, key, value in facts_of(event):
            if kind == "handle":
                self.handles[key] = value
            else:
                self.facts[(kind, key)] = value
        if isinstance(event, Inbox.Opened):
            self.facts[("inbox", str(event.originator_id))] = str(event.member_id)
        made = notify(event, self.facts, self.handles)
        for index, (recipient, kind, data) in enumerate(made):
            owner = UUID(recipient)
            self.by_member.setdefault(owner, []).append(Notification(
                position * 100 + index, owner, kind, data, event.timestamp))

    def _inbox_member(self, event: Any) -> UUID | None:
        member = self.facts.get(("inbox", str(event.originator_id)))
        return UUID(member) if member else None

    async def list_for(self, member_id: UUID, cursor: str | None = None, limit: int = 50
                       ) -> tuple[list[Notification], str | None]:
        rows = self.by_member.get(member_id, [])
        after = decode_cursor(cursor)
        end = len(rows) if after is None else min(int(after[0]), len(rows))
        start = max(0, end - limit)
        return list(reversed(rows[start:end])), (encode_cursor(start) if start else None)

    async def marker(self, member_id: UUID) -> tuple[int, int, int]:
        """(read up to, unread count, the newest notification's id)."""
        read = self.read.get(member_id, 0)
        rows = self.by_member.get(member_id, [])
        return read, sum(1 for n in rows if n.id > read), rows[-1].id if rows else 0


class PostgresNotificationsView(RowwisePostgresView):
    name = "notifications"
    ddl = (
        "CREATE TABLE IF NOT EXISTS {s}.notifications (id BIGINT NOT NULL,"
        " member_id UUID NOT NULL, kind TEXT NOT NULL, data JSONB NOT NULL,"
        " created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (member_id, id))",
        "CREATE TABLE IF NOT EXISTS {s}.notification_facts (kind TEXT NOT NULL,"
        " key TEXT NOT NULL, value JSONB NOT NULL, PRIMARY KEY (kind, key))",
        "CREATE TABLE IF NOT EXISTS {s}.notification_reads (member_id UUID PRIMARY KEY,"
        " up_to BIGINT NOT NULL)",
    )

    async def handle(self, conn: asyncpg.Connection, position: int, event: Any) -> None:
        learned = facts_of(event)
        if isinstance(event, Inbox.Opened):
            learned.append(("inbox", str(event.originator_id), str(event.member_id)))
        for kind, key, value in learned:
            await conn.execute(self.q(
                "INSERT INTO {s}.notification_facts VALUES ($1, $2, $3::jsonb)"
                " ON CONFLICT (kind, key) DO UPDATE SET value = EXCLUDED.value"),
                kind, key, json.dumps(value))
        if isinstance(event, Inbox.Read):
            member = await self._fact(conn, ("inbox", str(event.originator_id)))
            if member is not None:
                await conn.execute(self.q(
                    "INSERT INTO {s}.notification_reads VALUES ($1, $2) ON CONFLICT (member_id)"
                    " DO UPDATE SET up_to = GREATEST({s}.notification_reads.up_to,"
                    " EXCLUDED.up_to)"), UUID(member), event.up_to)
            return
        wanted = needs(event)
        if not wanted and not isinstance(event, SELF_CONTAINED):
            return
        facts = {fact: value for fact in wanted
                 if (value := await self._fact(conn, fact)) is not None}
        requester = facts.get(("requester", str(event.originator_id)))
        handles = {}
        if requester is not None:
            handle = await self._fact(conn, ("handle", requester))
            handles = {requester: handle} if handle is not None else {}
        rows = [(position * 100 + index, UUID(member), kind, json.dumps(data), event.timestamp)
                for index, (member, kind, data) in enumerate(notify(event, facts, handles))]
        if rows:
            await conn.executemany(self.q(
                "INSERT INTO {s}.notifications VALUES ($1, $2, $3, $4::jsonb, $5)"
                " ON CONFLICT DO NOTHING"), rows)

    async def _fact(self, conn: asyncpg.Connection, fact: Fact) -> Any:
        value = await conn.fetchval(self.q(
            "SELECT value FROM {s}.notification_facts WHERE kind = $1 AND key = $2"), *fact)
        return json.loads(value) if value is not None else None

    async def list_for(self, member_id: UUID, cursor: str | None = None, limit: int = 50
                       ) -> tuple[list[Notification], str | None]:
        after = decode_cursor(cursor)
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.notifications WHERE member_id = $1"
                " AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"),
                member_id, int(after[0]) if after else None, limit + 1)
        rows = [Notification(r["id"], r["member_id"], r["kind"], json.loads(r["data"]),
                             r["created_at"]) for r in records[:limit]]
        more = len(records) > limit
        return rows, (encode_cursor(rows[-1].id) if more else None)

    async def marker(self, member_id: UUID) -> tuple[int, int, int]:
        async with self.pool.acquire() as conn:
            read = await conn.fetchval(self.q(
                "SELECT up_to FROM {s}.notification_reads WHERE member_id = $1"), member_id)
            read = int(read or 0)
            unread, newest = await conn.fetchrow(self.q(
                "SELECT COUNT(*) FILTER (WHERE id > $2), COALESCE(MAX(id), 0)"
                " FROM {s}.notifications WHERE member_id = $1"), member_id, read)
        return read, int(unread), int(newest)
