"""Litestar application factory: controllers, error mapping, OpenAPI, and the lifespan that
opens the write side (the application) and the read side (read models and their runner)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar.concurrency import sync_to_thread
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from adapters import metrics
from adapters.bootstrap import Container, bootstrap
from adapters.job_queue import build_job_queue
from adapters.lock import DataDirLock
from adapters.metrics_sampler import (
    Sampler,
    sample_log,
    sample_queue,
    sample_review_queue,
    sample_takedown_margins,
)
from adapters.read_side import ReadSide
from adapters.settings import Settings
from api.console.pages import ConsoleController
from api.controllers.admin import AdminController
from api.controllers.feed import FeedController, LikeController
from api.controllers.generations import GenerationController
from api.controllers.identity import CameoController, IdentityController
from api.controllers.members import MemberController, RegistrationController
from api.controllers.notifications import NotificationController
from api.controllers.provenance import ProvenanceController
from api.controllers.provenance_check import ProvenanceCheckController
from api.controllers.reports import ReportController
from api.controllers.retroactive import (
    PersonRetroactiveController,
    RetroactiveAdminController,
    RetroactiveController,
)
from api.controllers.review import MyCasesController, ReviewController, ReviewDeskController
from api.controllers.review_config import ReviewConfigController
from api.controllers.rights import GrantController, RightsHolderController, WorkController
from api.controllers.soft_binding import SoftBindingController
from api.controllers.takedowns import (
    CounterNoticeController,
    HashBankController,
    TakedownAdminController,
    TakedownController,
    TakedownReviewController,
)
from api.controllers.webhooks import WebhookDeliveryController, WebhookEndpointController
from api.deps import container as container_of
from api.errors import EXCEPTION_HANDLERS
from api.observability import metrics_endpoint, observability_middleware
from api.openapi import document_errors
from api.ratelimit import RateLimits
from api.requests import MAX_BODY_BYTES, BoundedRequest
from domain.jobs import JobQueue

CONSOLE_STATIC = Path(__file__).parent / "console" / "static"
CONTROLLERS: list[Any] = [
    RegistrationController, MemberController, CameoController, IdentityController,
    GenerationController, RightsHolderController, WorkController, GrantController,
    ReviewController, ReviewDeskController, ReviewConfigController, MyCasesController,
    ReportController, AdminController,
    FeedController, LikeController, ProvenanceController, ProvenanceCheckController,
    SoftBindingController, WebhookEndpointController, WebhookDeliveryController,
    NotificationController,
    TakedownController, TakedownReviewController, TakedownAdminController,
    HashBankController, CounterNoticeController, RetroactiveController,
    RetroactiveAdminController, PersonRetroactiveController,
]


class Health(msgspec.Struct):
    status: str
    store: str
    events: int
    read_models_at: int


@get("/health", operation_id="health", tags=["meta"])
async def health(request: Request[Any, Any, Any]) -> Health:
    """Liveness, the event log's length and how far the read models have applied it."""
    c = container_of(request)
    runner = request.app.state["read_side"].runner
    return Health(status="ok", store=c.settings.store,
                  events=c.app.recorder.max_notification_id() or 0,
                  read_models_at=runner.position if runner else 0)


async def open_state(app: Litestar, container: Container, jobs: JobQueue | None = None
                     ) -> ReadSide:
    """Attaches the write side, starts the job queue (given, or the configured one) and
    then the read side, whose dispatcher feeds the queue (the lifespan does this; tests
    call it directly, because an ASGI lifespan cannot span pytest's setup and teardown
    tasks). `close_state` undoes it in the reverse order."""
    jobs = jobs if jobs is not None else build_job_queue(container)
    await jobs.start()
    read_side = ReadSide(container.settings, container.app, jobs=jobs, blobs=container.blobs)
    app.state["container"] = container
    app.state["read_side"] = read_side
    app.state["jobs"] = jobs
    app.state["rate_limits"] = RateLimits(container.settings.redis_url)
    await read_side.start()
    sampler = build_sampler(container, read_side, jobs)
    app.state["sampler"] = sampler
    sampler.start()
    return read_side


def build_sampler(container: Container, read_side: ReadSide, jobs: JobQueue) -> Sampler:
    """This process's gauges: lag, queue, takedown deadlines, review queue, pending webhook
    deliveries (adapters/metrics_sampler.py)."""
    async def sample() -> None:
        runner = read_side.runner
        await sync_to_thread(sample_log, container, runner.position if runner else None)
        await sync_to_thread(sample_takedown_margins, container.app)
        await sample_queue(jobs, container.settings.queue)
        if read_side.views is not None:
            await sample_review_queue(read_side.views.review_queue)
        if read_side.webhook_store is not None:
            metrics.WEBHOOK_PENDING.set(await sync_to_thread(read_side.webhook_store.pending))

    return Sampler(sample)


async def close_state(app: Litestar) -> None:
    """The dispatcher stops before the queue, and the job threads before the application
    closes."""
    if "sampler" in app.state:
        await app.state["sampler"].stop()
    if "read_side" in app.state:
        await app.state["read_side"].close()
    if "jobs" in app.state:
        await app.state["jobs"].close()


def create_app(container: Container | None = None, observability: bool = True) -> Litestar:
    """`container` is passed by tests; the server builds its own from the environment.
    `observability=False` leaves out the request middleware (metrics, span, log context):
    the baseline of benchmarks.observability_overhead."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        c = container or bootstrap()
        if container is None:
            c.media_intake.start()  # its sandboxes start with the server, not on a request
        lock = None
        if container is None and c.settings.store == "sqlite":
            lock = DataDirLock(c.settings.data_dir)
            lock.acquire()
        try:
            await open_state(app, c)
            yield
        finally:
            await close_state(app)
            if container is None:
                c.close()
                metrics.mark_process_dead()
            if lock is not None:
                lock.release()

    settings = container.settings if container is not None else Settings.from_env()
    # /metrics on the API's own port unless a port of its own is configured (api/cli.py)
    extra = [metrics_endpoint] if not settings.metrics_port else []
    app = Litestar(
        route_handlers=[health, *CONTROLLERS, ConsoleController, create_static_files_router(
            path="/console/static", directories=[CONSOLE_STATIC], name="console-static"),
            *extra],
        middleware=[observability_middleware] if observability else [],
        logging_config=None,  # logs are set up once per process (adapters/logging_setup.py)
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=BoundedRequest,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="Consentry",
            version="0.1.0",
            description="Consent, moderation and provenance backend for generative video. "
                        "Errors are application/problem+json with a stable `code`.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(), RedocRenderPlugin()],
            components=Components(security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer")}),
        ),
    )
    document_errors(app.openapi_schema)  # before the description is first served
    return app


def serve_app() -> Litestar:
    """What `consentry serve` runs in each uvicorn worker process: logs and traces set up
    from the environment (OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set), then the app."""
    from adapters.logging_setup import configure_logging, remember_secret
    from adapters.tracing import configure_tracing

    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    remember_secret(settings.watermark_key)
    configure_tracing("consentry-api")
    return create_app()
