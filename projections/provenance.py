"""Provenance: watermark serial → generation, and each generation's public record (when it
was made, by whose handle, whether it is still published). The public lookup reads only
this view, so it never touches the event store or private fields such as the prompt."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.generation import PUBLIC_STATES, Generation, State, state_after
from domain.member import Member
from projections.base import Batch, InMemoryView, PostgresView


@dataclass(frozen=True, slots=True)
class ProvenanceRow:
    """What the view keeps per generation (the handle is joined at read time)."""

    id: UUID
    requester_id: UUID
    created_at: datetime
    state: str = State.REQUESTED
    restricted: bool = False
    payload: str = ""  # the watermark serial, hex
    published_at: datetime | None = None
    taken_down_at: datetime | None = None


@dataclass(frozen=True)
class PublicRecord:
    """A generation's public record."""

    generation_id: UUID
    created_at: datetime
    creator_handle: str
    state: str  # published | restricted | taken_down | held | deleted | rejected | in_progress
    payload: str
    published_at: datetime | None
    taken_down_at: datetime | None

    @property
    def published(self) -> bool:
        return self.state in ("published", "restricted")

    @property
    def taken_down(self) -> bool:
        return self.state == "taken_down"


def public_record(row: ProvenanceRow, handle: str) -> PublicRecord:
    state = PUBLIC_STATES.get(State(row.state), "in_progress")
    if state == "published" and row.restricted:
        state = "restricted"  # allowed by a reviewer, but off the feed
    return PublicRecord(row.id, row.created_at, handle, state, row.payload,
                            row.published_at, row.taken_down_at)


def apply(row: ProvenanceRow, event: Any) -> ProvenanceRow:
    """The row after one of its generation's events (the state from the lifecycle)."""
    row = replace(row, state=str(state_after(State(row.state), event)))
    match event:
        case Generation.SerialAssigned():
            return replace(row, payload=event.payload)
        case Generation.Published():
            return replace(row, published_at=event.timestamp)
        case Generation.Restricted():
            return replace(row, restricted=True)
        case Generation.TakenDown():
            return replace(row, taken_down_at=event.timestamp)
        case Generation.Restored():
            return replace(row, taken_down_at=None)
    return row


def created(event: Generation.Requested) -> ProvenanceRow:
    return ProvenanceRow(id=event.originator_id, requester_id=event.requester_id,
                         created_at=event.timestamp)


class InMemoryProvenanceView(InMemoryView):
    """Rows and handles in dicts, plus the serial index."""

    name = "provenance"

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[UUID, ProvenanceRow] = {}
        self.handles: dict[UUID, str] = {}
        self.by_payload: dict[str, UUID] = {}

    def handle(self, position: int, event: Any) -> None:
        if isinstance(event, Member.Registered):
            self.handles[event.originator_id] = event.handle
        elif isinstance(event, Generation.Requested):
            self.rows[event.originator_id] = created(event)
        elif isinstance(event, Generation.Event) and event.originator_id in self.rows:
            row = apply(self.rows[event.originator_id], event)
            self.rows[row.id] = row
            if isinstance(event, Generation.SerialAssigned):
                self.by_payload[row.payload] = row.id

    async def get(self, generation_id: UUID) -> PublicRecord | None:
        row = self.rows.get(generation_id)
        return public_record(row, self.handles.get(row.requester_id, "")) if row else None

    async def by_serial(self, payload: bytes) -> PublicRecord | None:
        generation_id = self.by_payload.get(payload.hex())
        return None if generation_id is None else await self.get(generation_id)


_COLUMNS = ("requester_id", "created_at", "state", "restricted", "payload", "published_at",
            "taken_down_at")
# Built from the constant column names above; every value goes in as a parameter.
_UPSERT = (
    f"INSERT INTO {{s}}.provenance_generations (id, {', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ($1, {', '.join(f'${i + 2}' for i in range(len(_COLUMNS)))}) "
    f"ON CONFLICT (id) DO UPDATE SET "
    f"{', '.join(f'{c} = EXCLUDED.{c}' for c in _COLUMNS if c != 'created_at')}")
_SELECT = ("SELECT g.*, coalesce(m.handle, '') AS handle FROM {s}.provenance_generations g"
           " LEFT JOIN {s}.provenance_members m ON m.id = g.requester_id")


class PostgresProvenanceView(PostgresView):
    """Generations keyed by id with a unique index on the serial; handles beside them."""

    name = "provenance"
    version = 2  # 2: no `stage` column (approvals name where they resume)
    ddl = (
        "CREATE TABLE IF NOT EXISTS {s}.provenance_generations ("
        " id UUID PRIMARY KEY, requester_id UUID NOT NULL,"
        " created_at TIMESTAMPTZ NOT NULL, state TEXT NOT NULL,"
        " restricted BOOLEAN NOT NULL, payload TEXT NOT NULL,"
        " published_at TIMESTAMPTZ, taken_down_at TIMESTAMPTZ)",
        "CREATE UNIQUE INDEX IF NOT EXISTS provenance_generations_payload"
        " ON {s}.provenance_generations (payload) WHERE payload <> ''",
        "CREATE TABLE IF NOT EXISTS {s}.provenance_members ("
        " id UUID PRIMARY KEY, handle TEXT NOT NULL)",
    )

    async def handle_batch(self, conn: asyncpg.Connection, batch: Batch) -> None:
        """Folds the batch in memory over the rows it touches, then writes each changed row
        once: a rebuild costs a few statements per thousand events."""
        handles = [(e.originator_id, e.handle) for _, e in batch
                   if isinstance(e, Member.Registered)]
        if handles:
            await conn.executemany(self.q(
                "INSERT INTO {s}.provenance_members VALUES ($1, $2)"
                " ON CONFLICT (id) DO UPDATE SET handle = EXCLUDED.handle"), handles)
        events = [e for _, e in batch if isinstance(e, Generation.Event)]
        if not events:
            return
        new = {e.originator_id for e in events if isinstance(e, Generation.Requested)}
        known = list({e.originator_id for e in events} - new)
        rows: dict[UUID, ProvenanceRow] = {}
        if known:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.provenance_generations WHERE id = ANY($1) FOR UPDATE"),
                known)
            rows = {r["id"]: _row(r) for r in records}
        changed: set[UUID] = set()
        for event in events:
            if isinstance(event, Generation.Requested):
                rows[event.originator_id] = created(event)
            elif event.originator_id in rows:
                rows[event.originator_id] = apply(rows[event.originator_id], event)
            else:
                continue
            changed.add(event.originator_id)
        await conn.executemany(self.q(_UPSERT), [
            (gid, *(getattr(rows[gid], c) for c in _COLUMNS)) for gid in changed])

    async def get(self, generation_id: UUID) -> PublicRecord | None:
        async with self.pool.acquire() as conn:
            record = await conn.fetchrow(self.q(_SELECT + " WHERE g.id = $1"), generation_id)
        return public_record(_row(record), record["handle"]) if record else None

    async def by_serial(self, payload: bytes) -> PublicRecord | None:
        async with self.pool.acquire() as conn:
            record = await conn.fetchrow(self.q(_SELECT + " WHERE g.payload = $1"),
                                         payload.hex())
        return public_record(_row(record), record["handle"]) if record else None


def _row(record: Any) -> ProvenanceRow:
    return ProvenanceRow(id=record["id"], **{c: record[c] for c in _COLUMNS})
