"""`consentry projections rebuild` replays the whole log into emptied read models."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import asyncpg
import pytest

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from api.cli import main
from api.rebuild import rebuild
from tests.fakes import World

pytestmark = pytest.mark.integration


async def test_rebuild_refills_emptied_postgres_views_from_the_log(
        pg_schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch):
    dsn, schema = pg_schema
    for key, value in {"CONSENTRY_STORE": "postgres", "CONSENTRY_PG_DSN": dsn,
                       "CONSENTRY_PG_SCHEMA": schema}.items():
        monkeypatch.setenv(key, value)
    container = bootstrap(Settings.from_env())
    member = World(container.app).member()
    made = container.app.request_generation(member, "a paper boat", (), 5)
    last = container.app.recorder.max_notification_id()
    container.close()

    positions = await rebuild(["generation_status"])

    assert positions == {"generation_status": last}
    conn = await asyncpg.connect(dsn)
    try:
        state = await conn.fetchval(
            f'SELECT state FROM "{schema}".generation_status WHERE id = $1',
            UUID(made["generation_id"]))
    finally:
        await conn.close()
    assert state == "queued"


def test_the_cli_replays_the_embedded_log_and_reports_each_view(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("CONSENTRY_DATA_DIR", str(tmp_path))
    container = bootstrap(Settings.from_env())
    World(container.app).member()
    last = container.app.recorder.max_notification_id()
    container.close()

    assert main(["projections", "rebuild"]) == 0
    assert f"generation_status: rebuilt up to event {last}" in capsys.readouterr().out
