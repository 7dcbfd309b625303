"""The rights catalogue: rights holders (for admins' listing) and each holder's works with
their titles, aliases, grants and references, newest first. Works are aggregates, so one
work is read from its aggregate; listing "all of mine" needs this read model."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.rights_holder import RightsHolder
from domain.work import Work
from projections.base import (
    InMemoryView,
    InvalidCursorError,
    RowwisePostgresView,
    decode_cursor,
    encode_cursor,
)


@dataclass(frozen=True)
class RightsHolderSummary:
    id: UUID
    name: str
    onboarded_at: datetime
    work_count: int = 0


@dataclass(frozen=True)
class WorkSummary:
    id: UUID
    rights_holder_id: UUID
    title: str
    kind: str
    aliases: tuple[str, ...]
    registered_at: datetime
    withdrawn: bool = False
    grant_ids: tuple[UUID, ...] = ()
    reference_count: int = 0


@dataclass(frozen=True)
class Change:
    """What one event does to one row: `create` a row from `fields`, or merge `fields`
    into an existing one (keys starting with `add_` accumulate)."""

    table: str  # "holder" | "work"
    key: UUID
    fields: dict[str, Any]
    create: bool = False


def changes(event: Any) -> list[Change]:
    """The row changes an event makes (none for events this view ignores)."""
    match event:
        case RightsHolder.Onboarded():
            return [Change("holder", event.originator_id,
                           {"name": event.name, "onboarded_at": event.timestamp}, create=True)]
        case Work.Registered():
            return [Change("work", event.originator_id,
                           {"rights_holder_id": event.rights_holder_id, "title": event.title,
                            "kind": event.kind, "aliases": tuple(event.aliases),
                            "registered_at": event.timestamp}, create=True),
                    Change("holder", event.rights_holder_id, {"add_work": 1})]
        case Work.GrantLinked():
            return [Change("work", event.originator_id, {"add_grant": event.grant_id})]
        case Work.ReferenceAdded():
            return [Change("work", event.originator_id, {"add_reference": 1})]
        case Work.Withdrawn():
            return [Change("work", event.originator_id, {"withdrawn": True})]
    return []


def merge_holder(row: RightsHolderSummary, fields: dict[str, Any]) -> RightsHolderSummary:
    fields = dict(fields)
    fields["work_count"] = row.work_count + fields.pop("add_work", 0)
    return replace(row, **fields)


def merge_work(row: WorkSummary, fields: dict[str, Any]) -> WorkSummary:
    fields = dict(fields)
    grant = fields.pop("add_grant", None)
    if grant is not None and grant not in row.grant_ids:
        fields["grant_ids"] = (*row.grant_ids, grant)
    fields["reference_count"] = row.reference_count + fields.pop("add_reference", 0)
    return replace(row, **fields)


def cursor_number(cursor: str | None) -> int | None:
    """The one integer a cursor of these views holds (an index or a log position)."""
    after = decode_cursor(cursor)
    if after is None:
        return None
    if len(after) != 1 or not isinstance(after[0], int) or after[0] < 0:
        raise InvalidCursorError("malformed cursor")
    return after[0]


def _page(ids: list[UUID], cursor: str | None, limit: int) -> tuple[list[UUID], str | None]:
    """Newest first from a list kept in log order; the cursor is an index into it."""
    after = cursor_number(cursor)
    end = len(ids) if after is None else min(after, len(ids))
    start = max(0, end - limit)
    return list(reversed(ids[start:end])), (encode_cursor(start) if start > 0 else None)


class InMemoryWorksView(InMemoryView):
    """Rows in dicts, plus holders and each holder's works in log order."""

    name = "works"

    def __init__(self) -> None:
        super().__init__()
        self.holders: dict[UUID, RightsHolderSummary] = {}
        self.holder_order: list[UUID] = []
        self.works: dict[UUID, WorkSummary] = {}
        self.by_holder: dict[UUID, list[UUID]] = {}

    def handle(self, position: int, event: Any) -> None:
        for change in changes(event):
            if change.table == "holder":
                self._holder(change)
            else:
                self._work(change)

    def _holder(self, change: Change) -> None:
        if change.create:
            self.holders[change.key] = RightsHolderSummary(id=change.key, **change.fields)
            self.holder_order.append(change.key)
        elif change.key in self.holders:
            self.holders[change.key] = merge_holder(self.holders[change.key], change.fields)

    def _work(self, change: Change) -> None:
        if change.create:
            row = WorkSummary(id=change.key, **change.fields)
            self.works[change.key] = row
            self.by_holder.setdefault(row.rights_holder_id, []).append(change.key)
        elif change.key in self.works:
            self.works[change.key] = merge_work(self.works[change.key], change.fields)

    async def get(self, work_id: UUID) -> WorkSummary | None:
        return self.works.get(work_id)

    async def works_of(self, rights_holder_id: UUID, cursor: str | None = None,
                       limit: int = 50) -> tuple[list[WorkSummary], str | None]:
        ids, next_cursor = _page(self.by_holder.get(rights_holder_id, []), cursor, limit)
        return [self.works[i] for i in ids], next_cursor

    async def rights_holders(self, cursor: str | None = None, limit: int = 50
                             ) -> tuple[list[RightsHolderSummary], str | None]:
        ids, next_cursor = _page(self.holder_order, cursor, limit)
        return [self.holders[i] for i in ids], next_cursor


_TABLES = {"holder": "rights_holders", "work": "works"}
_MUTABLE = {"holder": ("name", "work_count"),
            "work": ("title", "aliases", "withdrawn", "grant_ids", "reference_count")}
_CREATE = {"holder": ("id", "name", "onboarded_at", "seq"),
           "work": ("id", "rights_holder_id", "title", "kind", "aliases", "registered_at",
                    "seq")}


def _sql_insert(table: str) -> str:
    # Built from the constant names above; every value goes in as a parameter.
    columns = _CREATE[table]
    return (f"INSERT INTO {{s}}.{_TABLES[table]} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))}) "
            "ON CONFLICT (id) DO NOTHING")


def _sql_update(table: str) -> str:
    columns = _MUTABLE[table]
    return (f"UPDATE {{s}}.{_TABLES[table]} SET "  # noqa: S608
            f"{', '.join(f'{c} = ${i + 2}' for i, c in enumerate(columns))} WHERE id = $1")


class PostgresWorksView(RowwisePostgresView):
    """Two tables; `(rights_holder_id, seq)` indexes a holder's works newest first. A row
    is read FOR UPDATE and merged with the same functions as the in-memory view."""

    name = "works"
    ddl = (
        "CREATE TABLE IF NOT EXISTS {s}.rights_holders (id UUID PRIMARY KEY,"
        " name TEXT NOT NULL, onboarded_at TIMESTAMPTZ NOT NULL,"
        " work_count INT NOT NULL DEFAULT 0, seq BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rights_holders_seq ON {s}.rights_holders (seq DESC)",
        "CREATE TABLE IF NOT EXISTS {s}.works (id UUID PRIMARY KEY,"
        " rights_holder_id UUID NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL,"
        " aliases TEXT[] NOT NULL, registered_at TIMESTAMPTZ NOT NULL,"
        " withdrawn BOOLEAN NOT NULL DEFAULT FALSE, grant_ids UUID[] NOT NULL DEFAULT '{}',"
        " reference_count INT NOT NULL DEFAULT 0, seq BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS works_holder ON {s}.works (rights_holder_id, seq DESC)",
    )

    async def handle(self, conn: asyncpg.Connection, position: int, event: Any) -> None:
        for change in changes(event):
            table = change.table
            if change.create:
                values = {"id": change.key, "seq": position, **change.fields}
                await conn.execute(self.q(_sql_insert(table)),
                                   *[_db(values[c]) for c in _CREATE[table]])
                continue
            record = await conn.fetchrow(self.q(
                f"SELECT * FROM {{s}}.{_TABLES[table]} WHERE id = $1 FOR UPDATE"),  # noqa: S608
                change.key)
            if record is None:
                continue
            row: Any = (merge_holder(_holder(record), change.fields) if table == "holder"
                        else merge_work(_work(record), change.fields))
            await conn.execute(self.q(_sql_update(table)), change.key,
                               *[_db(getattr(row, c)) for c in _MUTABLE[table]])

    async def get(self, work_id: UUID) -> WorkSummary | None:
        async with self.pool.acquire() as conn:
            record = await conn.fetchrow(self.q("SELECT * FROM {s}.works WHERE id = $1"),
                                         work_id)
        return _work(record) if record else None

    async def works_of(self, rights_holder_id: UUID, cursor: str | None = None,
                       limit: int = 50) -> tuple[list[WorkSummary], str | None]:
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.works WHERE rights_holder_id = $1"
                " AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3"),
                rights_holder_id, cursor_number(cursor), limit + 1)
        more = len(records) > limit
        return ([_work(r) for r in records[:limit]],
                encode_cursor(records[limit - 1]["seq"]) if more else None)

    async def rights_holders(self, cursor: str | None = None, limit: int = 50
                             ) -> tuple[list[RightsHolderSummary], str | None]:
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT * FROM {s}.rights_holders WHERE ($1::bigint IS NULL OR seq < $1)"
                " ORDER BY seq DESC LIMIT $2"), cursor_number(cursor), limit + 1)
        more = len(records) > limit
        return ([_holder(r) for r in records[:limit]],
                encode_cursor(records[limit - 1]["seq"]) if more else None)


def _db(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _holder(record: Any) -> RightsHolderSummary:
    return RightsHolderSummary(id=record["id"], name=record["name"],
                               onboarded_at=record["onboarded_at"],
                               work_count=record["work_count"])


def _work(record: Any) -> WorkSummary:
    return WorkSummary(id=record["id"], rights_holder_id=record["rights_holder_id"],
                       title=record["title"], kind=record["kind"],
                       aliases=tuple(record["aliases"]), registered_at=record["registered_at"],
                       withdrawn=record["withdrawn"], grant_ids=tuple(record["grant_ids"]),
                       reference_count=record["reference_count"])
