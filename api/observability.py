"""The API's side of operations: one ASGI middleware that gives each request an id, a log
context, a span (joining the caller's W3C trace context) and its metrics by route template,
and the unauthenticated GET /metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar import Request, Response, get
from litestar.concurrency import sync_to_thread
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.trace import SpanKind, Status, StatusCode

from adapters import metrics, tracing
from adapters.logging_setup import CONTEXT

log = logging.getLogger("consentry.http")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def observability_middleware(app: ASGIApp) -> ASGIApp:
    """Runs inside Litestar's routing, so the route template (`/generations/{id}`) names the
    series, never the raw path."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        given = _header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = CONTEXT.set({"request_id": request_id})
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        method = str(scope.get("method", ""))
        route = scope.get("path_template") or "unmatched"
        try:
            if tracing.enabled():
                headers = {k.decode("latin-1"): v.decode("latin-1")
                           for k, v in scope.get("headers", ())
                           if k in (b"traceparent", b"tracestate")}
                with tracing.tracer().start_as_current_span(
                        f"{method} {route}", context=tracing.extract(headers),
                        kind=SpanKind.SERVER, attributes={
                            "http.request.method": method, "http.route": route,
                            "consentry.request_id": request_id}) as span:
                    context = CONTEXT.get() or {}
                    context["trace_id"] = format(span.get_span_context().trace_id, "032x")
                    await app(scope, receive, answer)
                    span.set_attribute("http.response.status_code", status)
                    if "principal_id" in context:
                        span.set_attribute("enduser.id", context["principal_id"])
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
            else:
                await app(scope, receive, answer)
        finally:
            seconds = time.perf_counter() - started
            labels = (method, route, str(status))
            metrics.HTTP_REQUESTS.labels(*labels).inc()
            metrics.HTTP_SECONDS.labels(*labels).observe(seconds)
            if log.isEnabledFor(logging.INFO):
                log.info("request", extra={"method": method, "route": route,
                                           "status": status,
                                           "duration_ms": round(seconds * 1000, 2)})
            CONTEXT.reset(token)

    return middleware


@get("/metrics", operation_id="metrics", include_in_schema=False)
async def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text format; every process's samples in multiprocess mode."""
    sampler = request.app.state.get("sampler")
    if sampler is not None:
        await sampler.sample()  # this process's gauges, fresh for this scrape
    body, content_type = await sync_to_thread(metrics.render)
    return Response(body, media_type=content_type)
