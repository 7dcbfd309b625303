"""The audit log: every domain event as who did what to which aggregate and when, with a
summary of its fields in which secret digests, biometric ciphertexts and challenge secrets
never appear. Read per aggregate (oldest first) and per actor (newest first)."""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.idempotency import IdempotencyRecord
from projections.base import Batch, InMemoryView, PostgresView, decode_cursor, encode_cursor

REDACTED = "[redacted]"
# Key digests, face templates and the live verification challenge: never in a summary.
SECRET_FIELDS = frozenset({"secret_digest", "template_ciphertext", "nonce", "digits"})
_ENVELOPE = frozenset({"originator_id", "originator_version", "originator_topic", "timestamp",
                       "actor_id", "actor_role"})
MAX_TEXT = 200
MAX_ITEMS = 20
MAX_DEPTH = 2


@dataclass(frozen=True)
class AuditEntry:
    position: int
    aggregate_id: UUID
    aggregate_type: str
    version: int
    event: str
    actor_id: str
    actor_role: str
    at: datetime
    summary: dict[str, Any]


def entry(position: int, event: Any) -> AuditEntry | None:
    """The audit entry for one event (None: not audited; idempotency records only repeat
    the command they belong to)."""
    if not hasattr(event, "actor_id") or isinstance(event, IdempotencyRecord.Event):
        return None
    aggregate_type, _, name = type(event).__qualname__.rpartition(".")
    fields = {k: v for k, v in vars(event).items() if k not in _ENVELOPE}
    return AuditEntry(position=position, aggregate_id=event.originator_id,
                      aggregate_type=aggregate_type, version=event.originator_version,
                      event=name, actor_id=event.actor_id, actor_role=event.actor_role,
                      at=event.timestamp, summary=summarise(fields))


def summarise(fields: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """JSON-safe, bounded: long text is cut, large or deep containers become counts."""
    return {str(k): REDACTED if _secret(str(k)) else _value(v, depth)
            for k, v in fields.items()}


def _secret(key: str) -> bool:
    return key in SECRET_FIELDS or "secret" in key or "ciphertext" in key


def _value(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, bytes | bytearray | memoryview):
        return REDACTED
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        if depth >= MAX_DEPTH or len(value) > MAX_ITEMS:
            return f"{{{len(value)} fields}}"
        return summarise(value, depth + 1)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        if depth >= MAX_DEPTH or len(items) > MAX_ITEMS:
            return f"[{len(items)} items]"
        return [_value(v, depth + 1) for v in items]
    return str(value)  # UUIDs, enums


class InMemoryAuditView(InMemoryView):
    """Entries kept per aggregate and per actor, each list in log order."""

    name = "audit"

    def __init__(self) -> None:
        super().__init__()
        self.by_aggregate: dict[UUID, list[AuditEntry]] = {}
        self.by_actor: dict[str, list[AuditEntry]] = {}
        self.by_type: dict[str, list[UUID]] = {}

    def handle(self, position: int, event: Any) -> None:
        found = entry(position, event)
        if found is not None:
            self.by_aggregate.setdefault(found.aggregate_id, []).append(found)
            self.by_actor.setdefault(found.actor_id, []).append(found)
            if found.version == 1:
                self.by_type.setdefault(found.aggregate_type, []).append(found.aggregate_id)

    async def created(self, aggregate_type: str, limit: int = 1000) -> list[UUID]:
        """The ids of the aggregates of a type (e.g. Staff), oldest first."""
        return self.by_type.get(aggregate_type, [])[:limit]

    async def history(self, aggregate_id: UUID, cursor: str | None = None, limit: int = 50
                      ) -> tuple[list[AuditEntry], str | None]:
        """One aggregate's events, oldest first."""
        entries = self.by_aggregate.get(aggregate_id, [])
        after = decode_cursor(cursor)
        start = bisect_right(entries, int(after[0]), key=lambda e: e.position) if after else 0
        page = entries[start:start + limit]
        more = start + limit < len(entries)
        return page, (encode_cursor(page[-1].position) if more else None)

    async def by_actor_id(self, actor_id: str, cursor: str | None = None, limit: int = 50
                          ) -> tuple[list[AuditEntry], str | None]:
        """Everything one actor caused, newest first."""
        entries = self.by_actor.get(actor_id, [])
        after = decode_cursor(cursor)
        end = bisect_left(entries, int(after[0]), key=lambda e: e.position) if after \
            else len(entries)
        start = max(0, end - limit)
        page = list(reversed(entries[start:end]))
        return page, (encode_cursor(page[-1].position) if start > 0 else None)


_COLUMNS = ("position", "aggregate_id", "aggregate_type", "version", "event", "actor_id",
            "actor_role", "at", "summary")


class PostgresAuditView(PostgresView):
    """`audit_log` keyed by log position, indexed by aggregate and by actor. Every event
    lands here, so a batch goes in with one `executemany`, not one round trip per event."""

    name = "audit"
    ddl = (
        "CREATE TABLE IF NOT EXISTS {s}.audit_log ("
        " position BIGINT PRIMARY KEY, aggregate_id UUID NOT NULL,"
        " aggregate_type TEXT NOT NULL, version BIGINT NOT NULL, event TEXT NOT NULL,"
        " actor_id TEXT NOT NULL, actor_role TEXT NOT NULL, at TIMESTAMPTZ NOT NULL,"
        " summary JSONB NOT NULL)",
        "CREATE INDEX IF NOT EXISTS audit_log_aggregate ON {s}.audit_log (aggregate_id, position)",
        "CREATE INDEX IF NOT EXISTS audit_log_actor ON {s}.audit_log (actor_id, position DESC)",
        "CREATE INDEX IF NOT EXISTS audit_log_created ON {s}.audit_log (aggregate_type, position)"
        " WHERE version = 1",
    )

    async def handle_batch(self, conn: asyncpg.Connection, batch: Batch) -> None:
        entries = [found for p, e in batch if (found := entry(p, e)) is not None]
        if entries:
            await conn.executemany(self.q(
                "INSERT INTO {s}.audit_log VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                " ON CONFLICT (position) DO NOTHING"),
                [(e.position, e.aggregate_id, e.aggregate_type, e.version, e.event,
                  e.actor_id, e.actor_role, e.at, json.dumps(e.summary))
                 for e in entries])

    async def history(self, aggregate_id: UUID, cursor: str | None = None, limit: int = 50
                      ) -> tuple[list[AuditEntry], str | None]:
        after = decode_cursor(cursor)
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.audit_log WHERE aggregate_id = $1"
                " AND ($2::bigint IS NULL OR position > $2) ORDER BY position LIMIT $3"),
                aggregate_id, int(after[0]) if after else None, limit + 1)
        return _page(records, limit)

    async def created(self, aggregate_type: str, limit: int = 1000) -> list[UUID]:
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT aggregate_id FROM {s}.audit_log WHERE aggregate_type = $1"
                " AND version = 1 ORDER BY position LIMIT $2"), aggregate_type, limit)
        return [r["aggregate_id"] for r in records]

    async def by_actor_id(self, actor_id: str, cursor: str | None = None, limit: int = 50
                          ) -> tuple[list[AuditEntry], str | None]:
        after = decode_cursor(cursor)
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.audit_log WHERE actor_id = $1"
                " AND ($2::bigint IS NULL OR position < $2) ORDER BY position DESC LIMIT $3"),
                actor_id, int(after[0]) if after else None, limit + 1)
        return _page(records, limit)


def _page(records: list[Any], limit: int) -> tuple[list[AuditEntry], str | None]:
    entries = [AuditEntry(**{c: r[c] for c in _COLUMNS if c != "summary"},
                          summary=json.loads(r["summary"])) for r in records[:limit]]
    more = len(records) > limit
    return entries, (encode_cursor(entries[-1].position) if more else None)
