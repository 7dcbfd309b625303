"""The read side: read models (in memory for the embedded default, PostgreSQL through asyncpg
in production) and the runner that feeds them from the event log. Started in the API's
lifespan, because asyncpg pools belong to an event loop."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass, fields
from typing import Any

import asyncpg

from adapters.dispatch import JobDispatcher
from adapters.positions import (
    MemoryPositionStore,
    PositionStore,
    PostgresPositionStore,
    SqlitePositionStore,
)
from adapters.revocation import RevocationProcess
from adapters.settings import Settings
from adapters.webhook_delivery import WebhookDeliveryProcess
from adapters.webhook_setup import build_webhook_process, build_webhook_store
from adapters.webhook_store import WebhookStore
from domain.blobs import BlobStore
from domain.jobs import JobQueue
from projections.appearances import InMemoryAppearancesView, PostgresAppearancesView
from projections.audit import InMemoryAuditView, PostgresAuditView
from projections.base import View
from projections.feed import InMemoryFeedView, PostgresFeedView
from projections.generation_status import (
    InMemoryGenerationStatusView,
    PostgresGenerationStatusView,
)
from projections.notifications import InMemoryNotificationsView, PostgresNotificationsView
from projections.provenance import InMemoryProvenanceView, PostgresProvenanceView
from projections.review_queue import InMemoryReviewQueueView, PostgresReviewQueueView
from projections.runner import ProjectionRunner
from projections.work_usage import InMemoryWorkUsageView, PostgresWorkUsageView
from projections.works import InMemoryWorksView, PostgresWorksView


@dataclass
class Views:
    generation_status: Any
    appearances: Any
    works: Any
    work_usage: Any
    review_queue: Any
    audit: Any
    feed: Any
    provenance: Any
    notifications: Any

    def all(self) -> list[View]:
        return [getattr(self, f.name) for f in fields(self)]


DDL_LOCK = 7_120_841  # the advisory lock key of the read side's table creation


class ReadSide:
    def __init__(self, settings: Settings, app: Any, jobs: JobQueue | None = None,
                 blobs: BlobStore | None = None) -> None:
        self.settings = settings
        self.app = app
        self.blobs = blobs
        self.jobs = jobs  # given: this process queues the worker's jobs from the log
        self.pool: asyncpg.Pool | None = None
        self.views: Views | None = None
        self.runner: ProjectionRunner | None = None
        self.webhook_store: WebhookStore | None = None
        self.webhooks: WebhookDeliveryProcess | None = None

    async def open(self) -> Views:
        """Builds the views (creating PostgreSQL tables if needed) without reading the log.
        On PostgreSQL, under an advisory lock: `CREATE TABLE IF NOT EXISTS` is not safe
        against itself, and several API processes (uvicorn workers) start at once."""
        if self.settings.store != "postgres":
            return await self._open()
        self.pool = await asyncpg.create_pool(self.settings.pg_dsn, min_size=2, max_size=10)
        async with self.pool.acquire() as lock:
            await lock.execute("SELECT pg_advisory_lock($1)", DDL_LOCK)
            try:
                return await self._open()
            finally:
                await lock.execute("SELECT pg_advisory_unlock($1)", DDL_LOCK)

    async def _open(self) -> Views:
        if self.pool is not None:
            schema = self.settings.pg_schema or "public"
            views = Views(generation_status=PostgresGenerationStatusView(self.pool, schema),
                          appearances=PostgresAppearancesView(self.pool, schema),
                          works=PostgresWorksView(self.pool, schema),
                          work_usage=PostgresWorkUsageView(self.pool, schema),
                          review_queue=PostgresReviewQueueView(self.pool, schema),
                          audit=PostgresAuditView(self.pool, schema),
                          feed=PostgresFeedView(self.pool, schema),
                          provenance=PostgresProvenanceView(self.pool, schema),
                          notifications=PostgresNotificationsView(self.pool, schema))
            for view in views.all():
                await view.create()  # type: ignore[attr-defined]
        else:
            views = Views(generation_status=InMemoryGenerationStatusView(),
                          appearances=InMemoryAppearancesView(),
                          works=InMemoryWorksView(), work_usage=InMemoryWorkUsageView(),
                          review_queue=InMemoryReviewQueueView(), audit=InMemoryAuditView(),
                          feed=InMemoryFeedView(), provenance=InMemoryProvenanceView(),
                          notifications=InMemoryNotificationsView())
        self.views = views
        self.revocation = RevocationProcess(self.app, await self._positions(),
                                            blobs=self.blobs) \
            if self.settings.processes else None
        self.dispatcher = JobDispatcher(self.app, self.jobs) \
            if self.settings.processes and self.jobs is not None else None
        self.webhook_store = await asyncio.to_thread(build_webhook_store, self.settings)
        self.webhooks = build_webhook_process(self.settings, self.app, self.webhook_store) \
            if self.settings.processes else None
        processes = [p for p in (self.revocation, self.dispatcher, self.webhooks)
                     if p is not None]
        self.runner = ProjectionRunner(self.app, [*views.all(), *processes])
        for process in processes:
            process.run_in_thread = self.runner.in_thread
        return views

    async def _positions(self) -> PositionStore:
        if self.pool is not None:
            store = PostgresPositionStore(self.pool, self.settings.pg_schema or "public")
            await store.create()
            return store
        if self.settings.store == "sqlite":
            return SqlitePositionStore(self.settings.data_dir / "processes.sqlite3")
        return MemoryPositionStore()

    async def start(self) -> Views:
        """Opens, catches up with the log (a rebuild, for in-memory views), then follows it."""
        views = await self.open()
        assert self.runner is not None
        # The processes too: their indexes live in memory and are read from the log's start
        self.runner.position = min([await v.position() for v in self.runner.views], default=0)
        await self.runner.catch_up()
        if self.dispatcher is not None:
            await self.dispatcher.caught_up()  # queues the pending work, then each new job
        # What the catch-up built (for in-memory views, millions of objects) lives as long
        # as the process: frozen, the collector's full passes skip it instead of stopping
        # the server for seconds to walk it again.
        gc.freeze()
        await self.runner.start()
        if self.webhooks is not None:
            self.webhooks.start()
        return views

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.stop()
        if self.webhooks is not None:
            await self.webhooks.close()
        if self.webhook_store is not None:
            await asyncio.to_thread(self.webhook_store.close)
        if self.pool is not None:
            await self.pool.close()
