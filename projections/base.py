"""What every read model shares: a view applies batches of (position, event) pairs and moves
its tracking position in the same step, so a restart resumes where it stopped and a replay
applies each event once. In memory that step has no await inside it; on PostgreSQL it is one
transaction."""

from __future__ import annotations

import base64
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg

from domain.errors import ValidationError

Batch = Sequence[tuple[int, Any]]  # (log position, domain event), in log order


class View(Protocol):
    """A read model. `name` keys its tracking position."""

    name: str

    async def position(self) -> int: ...

    async def apply(self, batch: Batch) -> None: ...


class InMemoryView(ABC):
    """Base of the in-memory views (the embedded default, rebuilt from the log at start).
    Subclasses implement `handle(position, event)`; everything runs on the event loop, so
    a batch is applied without interleaving."""

    name = "view"

    def __init__(self) -> None:
        self._position = 0

    async def position(self) -> int:
        return self._position

    async def apply(self, batch: Batch) -> None:
        for position, event in batch:
            if position > self._position:
                self.handle(position, event)
                self._position = position

    @abstractmethod
    def handle(self, position: int, event: Any) -> None:
        """Applies one event (already known to be new) to the view."""


class PostgresView(ABC):
    """Base of the asyncpg views: tables in a schema, and a row in `projection_positions`
    updated in the same transaction as the changes a batch makes.

    `version` is the shape of the view's tables: when the code's version differs from the
    one recorded, the tables are dropped and the view is rebuilt from the log at start (a
    read model is disposable; the log is the truth)."""

    name = "view"
    version = 1
    ddl: tuple[str, ...] = ()

    def __init__(self, pool: asyncpg.Pool, schema: str = "public") -> None:
        self.pool = pool
        self.schema = schema

    def q(self, sql: str) -> str:
        return sql.replace("{s}", _quote(self.schema))

    async def create(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(self.q(
                "CREATE TABLE IF NOT EXISTS {s}.projection_positions ("
                "name TEXT PRIMARY KEY, position BIGINT NOT NULL)"))
            await conn.execute(self.q(
                "ALTER TABLE {s}.projection_positions"
                " ADD COLUMN IF NOT EXISTS version INT NOT NULL DEFAULT 1"))
            recorded = await conn.fetchval(self.q(
                "SELECT version FROM {s}.projection_positions WHERE name = $1"), self.name)
            if recorded is not None and recorded != self.version:
                await self._drop(conn)
            for statement in self.ddl:
                await conn.execute(self.q(statement))

    async def _drop(self, conn: asyncpg.Connection) -> None:
        for statement in self.ddl:
            match = re.search(r"TABLE IF NOT EXISTS \{s\}\.(\w+)", statement)
            if match:
                await conn.execute(self.q(f"DROP TABLE IF EXISTS {{s}}.{match[1]} CASCADE"))
        await conn.execute(self.q("DELETE FROM {s}.projection_positions WHERE name = $1"),
                           self.name)

    async def reset(self) -> None:
        """Drops this view's tables and position, then creates them empty (a rebuild)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await self._drop(conn)
        await self.create()

    async def position(self) -> int:
        async with self.pool.acquire() as conn:
            value = await conn.fetchval(self.q(
                "SELECT position FROM {s}.projection_positions WHERE name = $1"), self.name)
        return int(value or 0)

    async def apply(self, batch: Batch) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            current = await conn.fetchval(self.q(
                "SELECT position FROM {s}.projection_positions WHERE name = $1 FOR UPDATE"),
                self.name) or 0
            fresh = [(position, event) for position, event in batch if position > current]
            if not fresh:
                return
            await self.handle_batch(conn, fresh)
            await conn.execute(self.q(
                "INSERT INTO {s}.projection_positions (name, position, version)"
                " VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE"
                " SET position = EXCLUDED.position, version = EXCLUDED.version"),
                self.name, fresh[-1][0], self.version)

    @abstractmethod
    async def handle_batch(self, conn: asyncpg.Connection, batch: Batch) -> None:
        """Writes the changes of a batch of new events, inside the position's transaction."""


class RowwisePostgresView(PostgresView):
    """A PostgreSQL view that applies its events one at a time (views that can write a whole
    batch in a few statements implement `handle_batch` instead)."""

    async def handle_batch(self, conn: asyncpg.Connection, batch: Batch) -> None:
        for position, event in batch:
            await self.handle(conn, position, event)

    @abstractmethod
    async def handle(self, conn: asyncpg.Connection, position: int, event: Any) -> None:
        """Applies one new event."""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise InvalidCursorError("malformed cursor") from None
    if not isinstance(values, list):
        raise InvalidCursorError("malformed cursor")
    return values


class InvalidCursorError(ValidationError):
    code = "invalid-cursor"
    status = 400
