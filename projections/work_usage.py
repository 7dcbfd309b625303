"""Work usage: for each protected work, every generation the gate let use it (allowed or
sent to review; denied requests made nothing), newest first, remixes of those included.

This view records only *which* generations used a work; their current state is joined at
query time from the generation status view (as appearances do). A generation changes state
at every pipeline step and on takedown, restore and deletion: following all of that here
would duplicate the status view's state machine for each of the generation's works, and two
copies of a state can disagree. Both views are fed by one runner, so a reader that waited
for a position sees both at that position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from domain.generation import Generation
from projections.base import InMemoryView, RowwisePostgresView, encode_cursor
from projections.works import cursor_number


@dataclass(frozen=True)
class Usage:
    """`inherited`: the generation is a remix of one that used the work, and did not name
    the work itself (the gate checked the work's grant for the `remix` use)."""

    generation_id: UUID
    work_id: UUID
    inherited: bool = False


def uses(generation_id: UUID, decided: Generation.Decided,
         source_works: tuple[UUID, ...]) -> list[Usage]:
    """The works a decided generation uses: those its prompt named (recorded in the
    decision) and, for a remix, every work its source used. None if it was denied."""
    if decided.outcome == "deny":
        return []
    direct = tuple(dict.fromkeys(decided.work_ids))
    out = [Usage(generation_id, w) for w in direct]
    out += [Usage(generation_id, w, inherited=True)
            for w in dict.fromkeys(source_works) if w not in direct]
    return out


class InMemoryWorkUsageView(InMemoryView):
    """Each work's users in log order, plus what each generation uses (a remix's source
    is looked up there) and the source of remixes not yet decided."""

    name = "work_usage"

    def __init__(self) -> None:
        super().__init__()
        self.by_work: dict[UUID, list[Usage]] = {}
        self.works_of: dict[UUID, tuple[UUID, ...]] = {}
        self._remix_of: dict[UUID, UUID] = {}

    def handle(self, position: int, event: Any) -> None:
        if isinstance(event, Generation.Requested) and event.remix_of is not None:
            self._remix_of[event.originator_id] = event.remix_of
        elif isinstance(event, Generation.Decided):
            gid = event.originator_id
            source = self._remix_of.pop(gid, None)
            found = uses(gid, event, self.works_of.get(source, ()) if source else ())
            if found:
                self.works_of[gid] = tuple(u.work_id for u in found)
            for usage in found:
                self.by_work.setdefault(usage.work_id, []).append(usage)

    async def used_by(self, work_id: UUID, cursor: str | None = None, limit: int = 50
                      ) -> tuple[list[Usage], str | None]:
        rows = self.by_work.get(work_id, [])
        after = cursor_number(cursor)
        end = len(rows) if after is None else min(after, len(rows))
        start = max(0, end - limit)
        return list(reversed(rows[start:end])), (encode_cursor(start) if start else None)


class PostgresWorkUsageView(RowwisePostgresView):
    """`work_usage` keyed by (work, generation), indexed newest first per work and by
    generation for remixes; `work_usage_remixes` holds a remix's source until it is
    decided."""

    name = "work_usage"
    ddl = (
        "CREATE TABLE IF NOT EXISTS {s}.work_usage (work_id UUID NOT NULL,"
        " generation_id UUID NOT NULL, inherited BOOLEAN NOT NULL, seq BIGINT NOT NULL,"
        " PRIMARY KEY (work_id, generation_id))",
        "CREATE INDEX IF NOT EXISTS work_usage_work ON {s}.work_usage (work_id, seq DESC)",
        "CREATE INDEX IF NOT EXISTS work_usage_generation ON {s}.work_usage (generation_id)",
        "CREATE TABLE IF NOT EXISTS {s}.work_usage_remixes (generation_id UUID PRIMARY KEY,"
        " remix_of UUID NOT NULL)",
    )

    async def handle(self, conn: asyncpg.Connection, position: int, event: Any) -> None:
        if isinstance(event, Generation.Requested) and event.remix_of is not None:
            await conn.execute(self.q(
                "INSERT INTO {s}.work_usage_remixes VALUES ($1, $2) ON CONFLICT DO NOTHING"),
                event.originator_id, event.remix_of)
        elif isinstance(event, Generation.Decided):
            gid = event.originator_id
            source = await conn.fetchval(self.q(
                "DELETE FROM {s}.work_usage_remixes WHERE generation_id = $1"
                " RETURNING remix_of"), gid)
            source_works: tuple[UUID, ...] = ()
            if source is not None and event.outcome != "deny":
                source_works = tuple(r["work_id"] for r in await conn.fetch(self.q(
                    "SELECT work_id FROM {s}.work_usage WHERE generation_id = $1"
                    " ORDER BY work_id"), source))
            await conn.executemany(self.q(
                "INSERT INTO {s}.work_usage VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"),
                [(u.work_id, gid, u.inherited, position)
                 for u in uses(gid, event, source_works)])

    async def used_by(self, work_id: UUID, cursor: str | None = None, limit: int = 50
                      ) -> tuple[list[Usage], str | None]:
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT generation_id, inherited, seq FROM {s}.work_usage WHERE work_id = $1"
                " AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3"),
                work_id, cursor_number(cursor), limit + 1)
        more = len(records) > limit
        return ([Usage(r["generation_id"], work_id, r["inherited"]) for r in records[:limit]],
                encode_cursor(records[limit - 1]["seq"]) if more else None)
