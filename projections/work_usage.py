"""Work usage: for each protected work, every generation that shows it (allowed or sent to
review; denied requests made nothing), newest first: named by its prompt, inherited by
remixes at any depth, or found in its frames.

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

from domain.generation import DECIDED, FINAL, Generation
from projections.base import InMemoryView, RowwisePostgresView, encode_cursor
from projections.works import cursor_number


@dataclass(frozen=True)
class Usage:
    """`inherited`: the generation shows the work because its remix source (at any depth)
    did, not because its own prompt named it (the gate checked the grant for `remix`).
    `visual`: found in its frames only (WORK-VISUAL licensed it on a grant)."""

    generation_id: UUID
    work_id: UUID
    inherited: bool = False
    visual: bool = False


def uses(event: Any) -> list[Usage]:
    """The works an event shows a generation uses: those its decision recorded (named or
    inherited; none if it was denied, since nothing was made) and, once scanned, those
    found in its frames."""
    gid = event.originator_id
    if isinstance(event, Generation.Decided):
        if DECIDED[event.outcome] in FINAL:
            return []
        named = set(event.work_ids)
        return [Usage(gid, w, inherited=w not in named)
                for w in dict.fromkeys(event.featured_work_ids)]
    if isinstance(event, Generation.Scanned):
        return [Usage(gid, w, visual=True) for w in dict.fromkeys(event.work_ids)]
    return []


class InMemoryWorkUsageView(InMemoryView):
    """Each work's users in log order; a generation is listed once per work (a work its
    prompt named and its frames showed keeps its first entry)."""

    name = "work_usage"

    def __init__(self) -> None:
        super().__init__()
        self.by_work: dict[UUID, list[Usage]] = {}
        self._listed: set[tuple[UUID, UUID]] = set()

    def handle(self, position: int, event: Any) -> None:
        for usage in uses(event):
            if (usage.work_id, usage.generation_id) not in self._listed:
                self._listed.add((usage.work_id, usage.generation_id))
                self.by_work.setdefault(usage.work_id, []).append(usage)

    async def used_by(self, work_id: UUID, cursor: str | None = None, limit: int = 50
                      ) -> tuple[list[Usage], str | None]:
        rows = self.by_work.get(work_id, [])
        after = cursor_number(cursor)
        end = len(rows) if after is None else min(after, len(rows))
        start = max(0, end - limit)
        return list(reversed(rows[start:end])), (encode_cursor(start) if start else None)


class PostgresWorkUsageView(RowwisePostgresView):
    """`work_usage` keyed by (work, generation), indexed newest first per work."""

    name = "work_usage"
    version = 2  # 2: featured sets (no remix lookup) and works found in frames
    ddl = (
        "CREATE TABLE IF NOT EXISTS {s}.work_usage (work_id UUID NOT NULL,"
        " generation_id UUID NOT NULL, inherited BOOLEAN NOT NULL, visual BOOLEAN NOT NULL,"
        " seq BIGINT NOT NULL, PRIMARY KEY (work_id, generation_id))",
        "CREATE INDEX IF NOT EXISTS work_usage_work ON {s}.work_usage (work_id, seq DESC)",
    )

    async def handle(self, conn: asyncpg.Connection, position: int, event: Any) -> None:
        found = uses(event)
        if found:
            await conn.executemany(self.q(
                "INSERT INTO {s}.work_usage VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT DO NOTHING"),
                [(u.work_id, u.generation_id, u.inherited, u.visual, position) for u in found])

    async def used_by(self, work_id: UUID, cursor: str | None = None, limit: int = 50
                      ) -> tuple[list[Usage], str | None]:
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT generation_id, inherited, visual, seq FROM {s}.work_usage"
                " WHERE work_id = $1 AND ($2::bigint IS NULL OR seq < $2)"
                " ORDER BY seq DESC LIMIT $3"),
                work_id, cursor_number(cursor), limit + 1)
        more = len(records) > limit
        return ([Usage(r["generation_id"], work_id, r["inherited"], r["visual"])
                 for r in records[:limit]],
                encode_cursor(records[limit - 1]["seq"]) if more else None)
