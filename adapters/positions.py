"""Durable positions for processes that act on the log (so that a restart does not act on
old events again): a SQLite file beside the embedded event store, a table on PostgreSQL, or
memory for tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

import asyncpg


class PositionStore(Protocol):
    async def get(self, name: str) -> int: ...

    async def set(self, name: str, position: int) -> None: ...


class MemoryPositionStore:
    def __init__(self) -> None:
        self.positions: dict[str, int] = {}

    async def get(self, name: str) -> int:
        return self.positions.get(name, 0)

    async def set(self, name: str, position: int) -> None:
        self.positions[name] = position


class SqlitePositionStore:
    """Tiny writes (one row per process); synchronous sqlite3 is fine on the loop here."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("CREATE TABLE IF NOT EXISTS positions "
                          "(name TEXT PRIMARY KEY, position INTEGER NOT NULL)")

    async def get(self, name: str) -> int:
        row = self.conn.execute("SELECT position FROM positions WHERE name = ?",
                                (name,)).fetchone()
        return int(row[0]) if row else 0

    async def set(self, name: str, position: int) -> None:
        self.conn.execute("INSERT INTO positions VALUES (?, ?) ON CONFLICT (name) "
                          "DO UPDATE SET position = excluded.position", (name, position))


class PostgresPositionStore:
    def __init__(self, pool: asyncpg.Pool, schema: str = "public") -> None:
        self.pool = pool
        self.table = f'"{schema}".process_positions'

    async def create(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(f"CREATE TABLE IF NOT EXISTS {self.table} "
                               "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)")

    async def get(self, name: str) -> int:
        async with self.pool.acquire() as conn:
            value = await conn.fetchval(
                f"SELECT position FROM {self.table} WHERE name = $1", name)  # noqa: S608
        return int(value or 0)

    async def set(self, name: str, position: int) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                f"INSERT INTO {self.table} VALUES ($1, $2) ON CONFLICT (name) "  # noqa: S608
                "DO UPDATE SET position = EXCLUDED.position", name, position)
