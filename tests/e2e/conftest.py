"""HTTP journeys: the real app (application, read models, runner) behind an in-process ASGI
transport, on the embedded store and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from api.app import create_app, open_state
from tests.fakes import WORKER, FakeClock


@dataclass
class Api:
    """An HTTP client plus the container, for the steps no endpoint exists for yet (the
    worker's recorded results)."""

    client: httpx.AsyncClient
    container: Container
    clock: FakeClock
    admin: str

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, token: str | None = None,
                   expect: int | tuple[int, ...] = (200, 201, 202), **kwargs: Any) -> Any:
        headers = {**kwargs.pop("headers", {}), **(self.auth(token) if token else {})}
        response = await self.client.request(method, path, headers=headers, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in wanted, (response.status_code, response.text)
        return response.json() if response.content else None

    async def member(self, handle: str, verified: bool = True) -> tuple[str, str]:
        """Registers through the API; verification outcome recorded as the worker would."""
        invite = await self.call("POST", "/members/me/invites", self.admin, json={"count": 1})
        body = await self.call("POST", "/members",
                               json={"invite_code": invite["codes"][0], "handle": handle})
        token, member_id = body["secret"], body["member_id"]
        if verified:
            challenge = await self.call("POST", "/identity/verifications", token)
            await self.call("POST", challenge["upload_to"], token,
                            content=f"video of {handle}".encode(),
                            headers={"content-type": "video/mp4"})
            await self.worker(self.container.app.complete_verification, UUID(member_id),
                              b"\x01" * 32, "test-model", 0.9, 0.95)
        return member_id, token

    async def worker(self, fn: Any, *args: Any) -> Any:
        """A worker step (render, scan, publish...) and then the read models catch up."""
        result = fn(WORKER, *args)
        runner = self.client._transport.app.state["read_side"].runner  # type: ignore[attr-defined]
        await runner.wait_for(self.container.app.last_position())
        return result

    async def publish(self, generation_id: str) -> None:
        gid, app = UUID(generation_id), self.container.app
        await self.worker(app.record_render, gid, "a" * 64, 48, 2.0, "w1", 1)
        await self.worker(app.record_scan, gid, {"faces": [], "works": [], "safety": []})
        await self.worker(app.record_watermark, gid, "00ff00ff00ff", "b" * 64, "c" * 64)
        await self.worker(app.publish_generation, gid)


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.e2e),
                        pytest.param("postgres", marks=pytest.mark.e2e)])
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    if request.param == "postgres":
        dsn, schema = request.getfixturevalue("pg_schema")
        settings = Settings(store="postgres", pg_dsn=dsn, pg_schema=schema,
                            data_dir=tmp_path)  # blobs
    else:
        settings = Settings(store="sqlite", data_dir=tmp_path)
    clock = FakeClock()
    container = bootstrap(settings, clock=clock)
    admin = container.app.create_first_admin("root")["secret"]
    app = create_app(container)
    read_side = await open_state(app, container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client, container, clock, admin)
    await read_side.close()
    container.close()
