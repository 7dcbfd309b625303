"""OpenTelemetry traces: the provider (OTLP export only when OTEL_EXPORTER_OTLP_ENDPOINT is
set; tests plug in the SDK's in-memory exporter), W3C trace context in and out of job
payloads, and the links from a generation to the request whose trace its jobs join."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACER_NAME = "consentry"
_propagator = TraceContextTextMapPropagator()
_lock = threading.Lock()


class _Switch(SpanProcessor):
    """The provider's one processor, whose target can change (a global provider can be set
    only once per process; tests swap their in-memory exporters here)."""

    def __init__(self) -> None:
        self.target: SpanProcessor | None = None

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        if self.target is not None:
            self.target.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self.target is not None:
            self.target.on_end(span)

    def shutdown(self) -> None:
        if self.target is not None:
            self.target.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.target.force_flush(timeout_millis) if self.target is not None else True


class _State:
    switch: _Switch | None = None
    tracer: trace.Tracer | None = None  # the provider's, made once (each is a new object)


_state = _State()


def enabled() -> bool:
    return _state.switch is not None and _state.switch.target is not None


def configure_tracing(service: str, exporter: SpanExporter | None = None) -> bool:
    """Sends spans to `exporter` (synchronously: tests), else to OTLP over HTTP when
    OTEL_EXPORTER_OTLP_ENDPOINT is set (batched), else nowhere: the API's no-op tracer
    stays in place and spans cost next to nothing. True when spans are recorded."""
    if exporter is None and not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False
    with _lock:
        if _state.switch is None:
            _state.switch = _Switch()
            provider = TracerProvider(resource=Resource.create({
                "service.name": os.environ.get("OTEL_SERVICE_NAME", service)}))
            provider.add_span_processor(_state.switch)
            trace.set_tracer_provider(provider)
            _state.tracer = trace.get_tracer(TRACER_NAME)
        if exporter is not None:
            _state.switch.target = SimpleSpanProcessor(exporter)
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            _state.switch.target = BatchSpanProcessor(OTLPSpanExporter())
    return True


def disable_tracing() -> None:
    """Stops recording (tests: after one test's exporter is done with)."""
    switch = _state.switch
    if switch is not None:
        with _lock:
            if switch.target is not None:
                switch.target.force_flush()
            switch.target = None


_NO_OP = trace.NoOpTracer()


def tracer() -> trace.Tracer:
    """The SDK's tracer while spans are recorded; a no-op one otherwise (once a provider is
    set, its spans would cost their bookkeeping even with nowhere to go)."""
    return _state.tracer if enabled() and _state.tracer is not None else _NO_OP


def carrier() -> tuple[tuple[str, str], ...]:
    """The current trace context as W3C headers (empty outside a recorded span)."""
    if not trace.get_current_span().get_span_context().is_valid:
        return ()
    headers: dict[str, str] = {}
    _propagator.inject(headers)
    return tuple(sorted(headers.items()))


def extract(headers: Mapping[str, str] | tuple[tuple[str, str], ...]
            ) -> otel_context.Context | None:
    items = dict(headers)
    return _propagator.extract(items) if items else None


class TraceLinks:
    """Which request's trace each recent subject (a generation, an identity) belongs to: the
    commit hook writes it, the job dispatcher of the same process puts it in the job."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._links: OrderedDict[str, tuple[tuple[str, str], ...]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, subject: Any, headers: tuple[tuple[str, str], ...]) -> None:
        if not headers:
            return
        with self._lock:
            self._links[str(subject)] = headers
            self._links.move_to_end(str(subject))
            while len(self._links) > self.size:
                self._links.popitem(last=False)

    def get(self, subject: Any) -> tuple[tuple[str, str], ...]:
        with self._lock:
            return self._links.get(str(subject), ())


LINKS = TraceLinks()
