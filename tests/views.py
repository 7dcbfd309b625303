"""Shared pieces of the read-model contract tests: every view's suite runs on the in-memory
implementation and on the PostgreSQL one (in a fresh schema), fed by a numbered log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

STORES = [pytest.param("memory", marks=pytest.mark.unit),
          pytest.param("postgres", marks=pytest.mark.integration)]


@asynccontextmanager
async def open_view(request: pytest.FixtureRequest, in_memory: type,
                    postgres: type) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield in_memory()
        return
    dsn, schema = request.getfixturevalue("pg_schema")
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        view = postgres(pool, schema)
        await view.create()
        yield view
    finally:
        await pool.close()


class Log:
    """Numbers the pending events of aggregates as the event store would."""

    def __init__(self) -> None:
        self.position = 0

    def batch(self, *aggregates: Any) -> list[tuple[int, Any]]:
        out = []
        for aggregate in aggregates:
            for event in aggregate.collect_events():
                self.position += 1
                out.append((self.position, event))
        return out
