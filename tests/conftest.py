"""Shared fixtures: connection settings of the throwaway services started by `.ci/test`.

`.ci/services.sh start` launches a disposable PostgreSQL cluster and Redis server and
writes `CONSENTRY_PG_DSN` / `CONSENTRY_REDIS_URL` to `.ci/tmp/services.env`; `.ci/test`
exports them before running pytest. When they are missing, tests needing them are
skipped locally and fail under CI (CI=true), where the services must always exist.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from adapters.media_intake import MediaIntake


def _service_setting(name: str) -> str:
    value = os.environ.get(name)
    if value:
        return value
    message = (
        f"{name} is not set: run the tests through `.ci/test` (or `.ci/services.sh start` "
        f"and `source .ci/tmp/services.env`)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """DSN of the throwaway PostgreSQL database, e.g. postgresql://consentry@127.0.0.1:PORT/consentry."""
    return _service_setting("CONSENTRY_PG_DSN")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the throwaway Redis server, e.g. redis://127.0.0.1:PORT/0."""
    return _service_setting("CONSENTRY_REDIS_URL")


@pytest.fixture
def pg_schema(postgres_dsn: str) -> Iterator[tuple[str, str]]:
    """A fresh, uniquely named schema for one test; dropped (CASCADE) afterwards.

    Yields `(dsn, schema_name)`; use it to isolate eventsourcing PostgreSQL recorders
    (`POSTGRES_SCHEMA=schema_name`).
    """
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield postgres_dsn, schema
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(scope="session")
def media_intake() -> Iterator[MediaIntake]:
    """One media intake (its sandbox processes) shared by the tests' containers."""
    intake = MediaIntake()
    yield intake
    intake.close()
