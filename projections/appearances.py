"""Appearances: for each cameo owner, every generation that features them (drafts included,
remixes of videos featuring them at any depth included: the featured set recorded when it
was decided), newest first. States come from the generation status view."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from domain.generation import DECIDED, FINAL, Generation
from projections.base import InMemoryView, RowwisePostgresView, decode_cursor, encode_cursor


class InMemoryAppearancesView(InMemoryView):
    name = "appearances"

    def __init__(self) -> None:
        super().__init__()
        self.by_owner: dict[UUID, list[UUID]] = {}

    def handle(self, position: int, event: Any) -> None:
        # A denied request never made a video, so nobody appears in it.
        if isinstance(event, Generation.Decided) and DECIDED[event.outcome] not in FINAL:
            for owner in event.featured_member_ids:
                self.by_owner.setdefault(owner, []).append(event.originator_id)

    async def featuring(self, owner_id: UUID, cursor: str | None = None, limit: int = 50
                        ) -> tuple[list[UUID], str | None]:
        ids = self.by_owner.get(owner_id, [])
        after = decode_cursor(cursor)
        end = len(ids) if after is None else int(after[0])
        start = max(0, end - limit)
        return list(reversed(ids[start:end])), (encode_cursor(start) if start else None)


class PostgresAppearancesView(RowwisePostgresView):
    name = "appearances"
    version = 2  # 2: from the featured set of the decision
    ddl = (
        "CREATE TABLE IF NOT EXISTS {s}.appearances (owner_id UUID NOT NULL,"
        " generation_id UUID NOT NULL, seq BIGINT NOT NULL,"
        " PRIMARY KEY (owner_id, generation_id))",
        "CREATE INDEX IF NOT EXISTS appearances_owner ON {s}.appearances (owner_id, seq DESC)",
    )

    async def handle(self, conn: asyncpg.Connection, position: int, event: Any) -> None:
        if isinstance(event, Generation.Decided) and DECIDED[event.outcome] not in FINAL:
            await conn.executemany(self.q(
                "INSERT INTO {s}.appearances VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"),
                [(owner, event.originator_id, position)
                 for owner in event.featured_member_ids])

    async def featuring(self, owner_id: UUID, cursor: str | None = None, limit: int = 50
                        ) -> tuple[list[UUID], str | None]:
        after = decode_cursor(cursor)
        async with self.pool.acquire() as conn:
            records = await conn.fetch(self.q(
                "SELECT generation_id, seq FROM {s}.appearances WHERE owner_id = $1"
                " AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3"),
                owner_id, int(after[0]) if after else None, limit + 1)
        more = len(records) > limit
        return ([r["generation_id"] for r in records[:limit]],
                encode_cursor(records[limit - 1]["seq"]) if more else None)
