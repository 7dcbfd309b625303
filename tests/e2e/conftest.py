"""HTTP journeys: the real app (application, read models, runner) behind an in-process ASGI
transport, on the embedded store and on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from adapters.bootstrap import Container, bootstrap
from adapters.jobs_arq import ArqJobQueue
from adapters.jobs_inprocess import InProcessJobQueue
from adapters.media_intake import MediaIntake
from adapters.settings import Settings
from adapters.worker import build_handlers
from api.app import close_state, create_app, open_state
from domain.generator import Generator, RenderedClip, RenderRequest
from inference.generators import CompositeGenerator
from tests.e2e.pipeline_worker_process import WorkerProcess
from tests.fakes import WORKER, FakeClock, HeldJobs, ScriptedSafety, findings
from tests.verification_media import placeholder_video


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
            # A real but faceless video: the outcome below is recorded, not decided.
            await self.call("POST", challenge["upload_to"], token,
                            content=placeholder_video(handle),
                            headers={"content-type": "video/mp4"})
            await self.worker(self.container.app.complete_verification, UUID(member_id),
                              b"\x01" * 32, "test-model", 0.9, 0.95)
        return member_id, token

    async def settled(self) -> None:
        """Until the read models and the processes that run beside them (revocation, the
        job dispatcher) have applied every event, including any they recorded meanwhile."""
        runner = self.client._transport.app.state["read_side"].runner  # type: ignore[attr-defined]
        recorder = self.container.app.recorder
        while True:
            position = recorder.max_notification_id() or 0
            assert await runner.wait_for(position), "the read side fell behind"
            if (recorder.max_notification_id() or 0) == position:
                return

    async def worker(self, fn: Any, *args: Any) -> Any:
        """A worker step (render, scan, publish...) and then the read models catch up."""
        result = fn(WORKER, *args)
        runner = self.client._transport.app.state["read_side"].runner  # type: ignore[attr-defined]
        await runner.wait_for(self.container.app.last_position())
        return result

    async def publish(self, generation_id: str) -> None:
        gid, app = UUID(generation_id), self.container.app
        await self.worker(app.record_render, gid, "a" * 64, 48, 2.0, "w1", 1)
        await self.worker(app.record_scan, gid, findings())
        await self.worker(app.record_watermark, gid, "00ff00ff00ff", "b" * 64, "c" * 64)
        await self.worker(app.publish_generation, gid)


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.e2e),
                        pytest.param("postgres", marks=pytest.mark.e2e)])
async def api(request: pytest.FixtureRequest, tmp_path: Path, media_intake: MediaIntake
              ) -> AsyncIterator[Api]:
    if request.param == "postgres":
        dsn, schema = request.getfixturevalue("pg_schema")
        settings = Settings(store="postgres", pg_dsn=dsn, pg_schema=schema,
                            data_dir=tmp_path)  # blobs
    else:
        settings = Settings(store="sqlite", data_dir=tmp_path)
    clock = FakeClock()
    container = bootstrap(settings, clock=clock, media_intake=media_intake)
    admin = container.app.create_first_admin("root")["secret"]
    app = create_app(container)
    # The worker's jobs are only recorded: these journeys drive its steps themselves.
    await open_state(app, container, jobs=HeldJobs())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client, container, clock, admin)
    await close_state(app)
    container.close()


@dataclass
class SwitchableGenerator:
    """The generator the live worker renders with; a test swaps `inner` (e.g. for the leaky
    one of journey 3)."""

    inner: Generator

    @property
    def name(self) -> str:
        return self.inner.name

    def render(self, request: RenderRequest) -> RenderedClip:
        return self.inner.render(request)


@dataclass
class LiveApi(Api):
    """The API with the worker running: the real in-process job queue and handlers (face
    scan, protected-work scan, watermark, C2PA), the composite generator and a scripted
    safety classifier (see `ScriptedSafety`)."""

    jobs: InProcessJobQueue
    generator: SwitchableGenerator
    safety: ScriptedSafety

    async def settle(self) -> None:
        """Waits until the read models have applied every event and the queue is idle with
        nothing new recorded: the worker has done all it will do."""
        runner = self.client._transport.app.state["read_side"].runner  # type: ignore[attr-defined]
        recorder = self.container.app.recorder
        while True:
            position = recorder.max_notification_id() or 0
            await runner.wait_for(position)
            await self.jobs.join()
            if (recorder.max_notification_id() or 0) == position:
                return


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.e2e)])
async def live(tmp_path: Path, media_intake: MediaIntake) -> AsyncIterator[LiveApi]:
    safety, clock = ScriptedSafety(), FakeClock()
    container = bootstrap(Settings(store="sqlite", data_dir=tmp_path), clock=clock,
                          safety=safety, media_intake=media_intake)
    admin = container.app.create_first_admin("root")["secret"]
    generator = SwitchableGenerator(CompositeGenerator())
    handlers, give_up = build_handlers(container, generator)
    jobs = InProcessJobQueue(handlers, give_up=give_up, backoff=(0.2, 0.5))
    app = create_app(container)
    await open_state(app, container, jobs=jobs)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield LiveApi(client, container, clock, admin, jobs, generator, safety)
    await close_state(app)
    container.close()


@dataclass
class LiveArqApi(Api):
    """The API on PostgreSQL that only queues jobs (arq on Redis), and a separate worker
    process running them: `tests/e2e/pipeline_worker_process.py`, what `consentry worker`
    runs with a scripted safety classifier. Both share the data directory (blobs, watermark
    key, C2PA chain)."""

    jobs: ArqJobQueue
    worker_process: WorkerProcess

    async def settle(self, timeout: float = 120.0) -> None:
        """Waits until the worker has done all it will do: the read models have applied
        every event, every job queued from here has finished (arq deletes its key then),
        and nothing new was recorded meanwhile. Fails with the worker's log past `timeout`
        or when the worker process has died."""
        runner = self.client._transport.app.state["read_side"].runner  # type: ignore[attr-defined]
        recorder = self.container.app.recorder
        deadline = time.monotonic() + timeout
        while True:
            position = recorder.max_notification_id() or 0
            while not (await runner.wait_for(position, timeout=1.0)
                       and await _finished(self.jobs.join(), 1.0)):
                self.worker_process.check_running()
                if time.monotonic() > deadline:
                    pytest.fail(f"the worker did not settle within {timeout:.0f} s (log "
                                f"position {position}); its log:\n"
                                f"{self.worker_process.tail()}", pytrace=False)
            if (recorder.max_notification_id() or 0) == position:
                return


# Either live API: the journeys' helpers take both.
AnyLiveApi = LiveApi | LiveArqApi

async def _finished(awaitable: Any, timeout: float) -> bool:
    try:
        await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        return False
    return True


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.e2e)])
async def live_arq(pg_schema: tuple[str, str], redis_url: str, tmp_path: Path,
                   media_intake: MediaIntake) -> AsyncIterator[LiveArqApi]:
    dsn, schema = pg_schema
    settings = Settings(store="postgres", pg_dsn=dsn, pg_schema=schema, data_dir=tmp_path,
                        queue="arq", redis_url=redis_url,
                        queue_name=f"test-jobs-{uuid.uuid4().hex}")
    # The worker reads the real clock: the API's starts at the same time.
    clock = FakeClock(datetime.now(UTC))
    # writes the keys the worker then reads
    container = bootstrap(settings, clock=clock, media_intake=media_intake)
    admin = container.app.create_first_admin("root")["secret"]
    worker = WorkerProcess({
        "CONSENTRY_STORE": "postgres", "CONSENTRY_PG_DSN": dsn, "CONSENTRY_PG_SCHEMA": schema,
        "CONSENTRY_DATA_DIR": str(tmp_path), "CONSENTRY_QUEUE": "arq",
        "CONSENTRY_REDIS_URL": redis_url, "CONSENTRY_QUEUE_NAME": settings.queue_name,
        "CONSENTRY_TEST_JOB_TIMEOUT": "60"}, tmp_path / "worker.log")
    app = create_app(container)
    await open_state(app, container)  # the configured queue: ArqJobQueue, enqueue only
    jobs = app.state["jobs"]
    assert isinstance(jobs, ArqJobQueue)
    worker.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield LiveArqApi(client, container, clock, admin, jobs, worker)
    finally:
        worker.stop()
        await close_state(app)
        container.close()
