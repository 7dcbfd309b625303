"""The embedded default: one server per data directory, health and OpenAPI served."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from adapters.bootstrap import bootstrap
from adapters.lock import DataDirInUseError, DataDirLock
from adapters.settings import Settings
from api.app import create_app

pytestmark = pytest.mark.integration


def test_a_second_server_on_the_same_data_directory_is_refused(tmp_path: Path):
    first = DataDirLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(DataDirInUseError):
            DataDirLock(tmp_path).acquire()
    finally:
        first.release()
    again = DataDirLock(tmp_path)
    again.acquire()  # free once the first one let go
    again.release()


async def test_health_and_openapi_are_served_without_credentials(tmp_path: Path):
    container = bootstrap(Settings(store="sqlite", data_dir=tmp_path))
    app = create_app(container)
    try:
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                health = await client.get("/health")
                schema = await client.get("/schema/openapi.json")
                missing = await client.get("/no-such-thing")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert schema.json()["paths"]["/health"]["get"]["operationId"] == "health"
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert missing.json()["code"] == "not-found"
    finally:
        container.close()
