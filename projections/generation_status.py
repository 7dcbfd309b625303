"""Generation status: one row per generation (state, decision, trace, artifacts), listed per
requester newest first. The same event → change mapping feeds both stores."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.generation import Generation, State, state_after
from projections.base import (
    Batch,
    InMemoryView,
    PostgresView,
    decode_cursor,
    encode_cursor,
)


@dataclass(frozen=True)
class GenerationRow:
    id: UUID
    requester_id: UUID
    prompt: str
    cameo_owner_ids: tuple[UUID, ...]
    seconds: int
    remix_of: UUID | None
    created_at: datetime
    updated_at: datetime
    state: str = State.REQUESTED
    outcome: str = ""
    rule_codes: tuple[str, ...] = ()
    trace: tuple[dict[str, Any], ...] = ()
    work_ids: tuple[UUID, ...] = ()
    # Everyone and every work it shows: named, inherited through remixes, seen in frames.
    featured_member_ids: tuple[UUID, ...] = ()
    featured_work_ids: tuple[UUID, ...] = ()
    case_ids: tuple[UUID, ...] = ()
    artifact_digest: str = ""
    published_digest: str = ""
    watermark_payload: str = ""
    restricted: bool = False
    takedown_cause: dict[str, str] = field(default_factory=dict)
    hold_cause: dict[str, str] = field(default_factory=dict)
    published_at: datetime | None = None

    def features(self, member_id: UUID) -> bool:
        return member_id in self.featured_member_ids


def changes(event: Any) -> dict[str, Any] | None:
    """The fields a Generation event sets on its row besides its state, which `merge`
    takes from the lifecycle (None: not a generation event)."""
    if not isinstance(event, Generation.Event):
        return None
    at = {"updated_at": event.timestamp}
    match event:
        case Generation.Requested():
            return {"requester_id": event.requester_id, "prompt": event.prompt,
                    "cameo_owner_ids": tuple(event.cameo_owner_ids), "seconds": event.seconds,
                    "remix_of": event.remix_of, "created_at": event.timestamp,
                    "featured_member_ids": tuple(event.cameo_owner_ids), **at}
        case Generation.Decided():
            return {"outcome": event.outcome, "rule_codes": tuple(event.rule_codes),
                    "trace": tuple(event.trace), "work_ids": tuple(event.work_ids),
                    "featured_member_ids": tuple(event.featured_member_ids),
                    "featured_work_ids": tuple(event.featured_work_ids), **at}
        case Generation.Rendered():
            return {"artifact_digest": event.artifact_digest, **at}
        case Generation.Scanned():
            return {"add_works": tuple(event.work_ids), **at}
        case Generation.Watermarked():
            return {"published_digest": event.published_digest,
                    "watermark_payload": event.payload, **at}
        case Generation.Published():
            return {"published_at": event.timestamp, **at}
        case Generation.HeldForReview():
            return {"add_case": event.case_id, "hold_cause": dict(event.cause), **at}
        case Generation.CaseLinked():
            return {"add_case": event.case_id, **at}
        case Generation.Approved():
            return {"hold_cause": {}, **at}
        case Generation.Restricted():
            return {"restricted": True, **at}
        case Generation.Rejected():
            return {"add_rule_codes": tuple(event.rule_codes), **at}
        case Generation.TakenDown():
            return {"takedown_cause": dict(event.cause), **at}
        case Generation.Restored():
            return {"takedown_cause": {}, **at}
    return at


def merge(row: GenerationRow, event: Any, change: dict[str, Any]) -> GenerationRow:
    change = dict(change)
    change["state"] = str(state_after(State(row.state), event))
    if "add_case" in change:
        case = change.pop("add_case")
        if case not in row.case_ids:
            change["case_ids"] = (*row.case_ids, case)
    if "add_rule_codes" in change:
        added = change.pop("add_rule_codes")
        change["rule_codes"] = tuple(dict.fromkeys((*row.rule_codes, *added)))
    if "add_works" in change:
        added = change.pop("add_works")
        change["featured_work_ids"] = tuple(dict.fromkeys((*row.featured_work_ids, *added)))
    return replace(row, **change)


class InMemoryGenerationStatusView(InMemoryView):
    """Rows in a dict, plus each requester's generations in creation order."""

    name = "generation_status"

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[UUID, GenerationRow] = {}
        self.by_requester: dict[UUID, list[UUID]] = {}

    def handle(self, position: int, event: Any) -> None:
        change = changes(event)
        if change is None:
            return
        gid = event.originator_id
        if isinstance(event, Generation.Requested):
            self.rows[gid] = GenerationRow(id=gid, **change)
            self.by_requester.setdefault(event.requester_id, []).append(gid)
        elif gid in self.rows:
            self.rows[gid] = merge(self.rows[gid], event, change)

    async def get(self, generation_id: UUID) -> GenerationRow | None:
        return self.rows.get(generation_id)

    async def get_many(self, ids: list[UUID]) -> dict[UUID, GenerationRow]:
        return {i: self.rows[i] for i in ids if i in self.rows}

    async def list_by_requester(self, requester_id: UUID, cursor: str | None = None,
                                limit: int = 50) -> tuple[list[GenerationRow], str | None]:
        ids = self.by_requester.get(requester_id, [])
        after = decode_cursor(cursor)
        end = len(ids) if after is None else int(after[0])
        start = max(0, end - limit)
        page = [self.rows[i] for i in reversed(ids[start:end])]
        return page, (encode_cursor(start) if start > 0 else None)


_COLUMNS = ("requester_id", "prompt", "cameo_owner_ids", "seconds", "remix_of", "created_at",
            "updated_at", "state", "outcome", "rule_codes", "trace", "work_ids",
            "featured_member_ids", "featured_work_ids", "case_ids", "artifact_digest",
            "published_digest", "watermark_payload", "restricted", "takedown_cause",
            "hold_cause", "published_at")
_JSON = {"trace", "takedown_cause", "hold_cause"}
# Built from the constant column names above; every value goes in as a parameter.
_UPSERT = (
    f"INSERT INTO {{s}}.generation_status (id, {', '.join(_COLUMNS)}, seq) "  # noqa: S608
    f"VALUES ($1, {', '.join(f'${i + 2}' for i in range(len(_COLUMNS)))}, "
    f"${len(_COLUMNS) + 2}) ON CONFLICT (id) DO UPDATE SET "
    f"{', '.join(f'{c} = EXCLUDED.{c}' for c in _COLUMNS if c != 'created_at')}")


class PostgresGenerationStatusView(PostgresView):
    """One table keyed by generation id; `(requester_id, created_at)` index for listing."""

    name = "generation_status"
    version = 3  # 3: featured sets and hold cause; the lifecycle gives the state
    ddl = (
        "CREATE TABLE IF NOT EXISTS {s}.generation_status ("
        " id UUID PRIMARY KEY, requester_id UUID NOT NULL, prompt TEXT NOT NULL,"
        " cameo_owner_ids UUID[] NOT NULL, seconds INT NOT NULL, remix_of UUID,"
        " created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,"
        " state TEXT NOT NULL, outcome TEXT NOT NULL, rule_codes TEXT[] NOT NULL,"
        " trace JSONB NOT NULL, work_ids UUID[] NOT NULL,"
        " featured_member_ids UUID[] NOT NULL, featured_work_ids UUID[] NOT NULL,"
        " case_ids UUID[] NOT NULL, artifact_digest TEXT NOT NULL,"
        " published_digest TEXT NOT NULL,"
        " watermark_payload TEXT NOT NULL, restricted BOOLEAN NOT NULL,"
        " takedown_cause JSONB NOT NULL, hold_cause JSONB NOT NULL,"
        " published_at TIMESTAMPTZ, seq BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS generation_status_requester"
        " ON {s}.generation_status (requester_id, seq DESC)",
    )

    async def handle_batch(self, conn: asyncpg.Connection, batch: Batch) -> None:
        """Reads the rows the batch touches in one query, merges in memory, and writes them
        back with one statement: a rebuild costs a few statements per thousand events."""
        changes_in_order = [(p, e, c, isinstance(e, Generation.Requested))
                            for p, e in batch if (c := changes(e)) is not None]
        existing = {e.originator_id for _, e, _, created in changes_in_order if not created}
        rows: dict[UUID, GenerationRow] = {}
        seq: dict[UUID, int] = {}
        if existing:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.generation_status WHERE id = ANY($1) FOR UPDATE"),
                list(existing))
            rows = {r["id"]: _row(r) for r in records}
            seq = {r["id"]: r["seq"] for r in records}
        for position, event, change, created in changes_in_order:
            gid = event.originator_id
            if created:
                rows[gid] = GenerationRow(id=gid, **change)
                seq[gid] = position
            elif gid in rows:
                rows[gid] = merge(rows[gid], event, change)
        await conn.executemany(self.q(_UPSERT), [
            (gid, *(_db(c, getattr(row, c)) for c in _COLUMNS), seq[gid])
            for gid, row in rows.items()])

    async def get(self, generation_id: UUID) -> GenerationRow | None:
        async with self.pool.acquire() as conn:
            record = await conn.fetchrow(self.q(
                "SELECT * FROM {s}.generation_status WHERE id = $1"), generation_id)
        return _row(record) if record else None

    async def get_many(self, ids: list[UUID]) -> dict[UUID, GenerationRow]:
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.generation_status WHERE id = ANY($1)"), ids)
        return {r["id"]: _row(r) for r in records}

    async def list_by_requester(self, requester_id: UUID, cursor: str | None = None,
                                limit: int = 50) -> tuple[list[GenerationRow], str | None]:
        after = decode_cursor(cursor)
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.generation_status WHERE requester_id = $1"
                " AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3"),
                requester_id, int(after[0]) if after else None, limit + 1)
        rows = [_row(r) for r in records[:limit]]
        more = len(records) > limit
        return rows, (encode_cursor(records[limit - 1]["seq"]) if more else None)


def _db(column: str, value: Any) -> Any:
    if column in _JSON:
        return json.dumps(list(value) if isinstance(value, tuple) else value, default=str)
    if isinstance(value, tuple):
        return list(value)
    return value


def _row(record: Any) -> GenerationRow:
    data = {c: record[c] for c in _COLUMNS}
    for column in _JSON:
        data[column] = json.loads(data[column])
    for column in ("cameo_owner_ids", "rule_codes", "work_ids", "featured_member_ids",
                   "featured_work_ids", "case_ids"):
        data[column] = tuple(data[column])
    data["trace"] = tuple(data["trace"])
    return GenerationRow(id=record["id"], **data)
