"""Litestar application factory. Issue-by-issue the controllers grow; the factory stays."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from adapters.bootstrap import Container, bootstrap
from adapters.lock import DataDirLock
from api.errors import EXCEPTION_HANDLERS


class Health(msgspec.Struct):
    status: str
    store: str
    events: int


def create_app(container: Container | None = None) -> Litestar:
    holder: dict[str, Container] = {}

    lock: list[DataDirLock] = []

    def on_startup() -> None:
        c = container or bootstrap()
        if container is None and c.settings.store == "sqlite":
            lock.append(DataDirLock(c.settings.data_dir))
            lock[0].acquire()
        holder["c"] = c

    def on_shutdown() -> None:
        if container is None and "c" in holder:
            holder["c"].close()
        for held in lock:
            held.release()

    @get("/health", operation_id="health", tags=["meta"], sync_to_thread=True)
    def health() -> Health:
        """Liveness and the event store's position."""
        c = holder["c"]
        return Health(status="ok", store=c.settings.store,
                      events=c.app.recorder.max_notification_id() or 0)

    app_state: dict[str, Any] = {}
    return Litestar(
        route_handlers=[health],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        exception_handlers=EXCEPTION_HANDLERS,
        state=app_state,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="Consentry",
            version="0.1.0",
            description="Consent, moderation and provenance backend for generative video.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(), RedocRenderPlugin()],
            components=Components(security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer")}),
        ),
    )
