"""Smoke tests of the throwaway PostgreSQL and Redis started by `.ci/services.sh`."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import redis.asyncio as aioredis

pytestmark = pytest.mark.integration


def test_postgres_is_15_or_newer_on_loopback(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
        assert row is not None
        assert int(row[0]) >= 150000, f"PostgreSQL >= 15 required, got {row[0]}"

        row = conn.execute("SELECT host(inet_server_addr())").fetchone()
        assert row is not None
        assert row[0] == "127.0.0.1"


def test_pg_schema_is_created_and_usable(pg_schema: tuple[str, str]) -> None:
    dsn, schema = pg_schema
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        ).fetchone()
        assert row == (1,)


async def test_redis_ping_set_get(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        assert await client.ping() is True
        key = f"consentry:test:{uuid.uuid4().hex}"
        await client.set(key, "ok", ex=60)
        assert await client.get(key) == b"ok"
        await client.delete(key)
    finally:
        await client.aclose()
