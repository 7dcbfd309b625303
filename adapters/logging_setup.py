"""Structured logs: one JSON object per line (a readable console format on a terminal), with
the request id, principal id, generation id and trace id where known. structlog formats the
standard library's records, so every logger (ours, uvicorn's, arq's) goes through it."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from contextvars import ContextVar
from typing import Any, TextIO

import structlog
from opentelemetry import trace

# Per request or job: a dict shared by reference, so what a command thread learns (the
# generation it wrote) is seen by the request's closing line too.
CONTEXT: ContextVar[dict[str, str] | None] = ContextVar("consentry_log_context", default=None)
CONTEXT_KEYS = ("request_id", "principal_id", "generation_id", "job_id", "trace_id")

# Bearer keys (cs1.<principal>.<key id>.<secret>) and webhook secrets, wherever they appear.
_TOKENS = re.compile(r"(cs1\.[0-9a-f]{32}\.[0-9a-f]+\.)[A-Za-z0-9_\-]+|(whsec_)[A-Za-z0-9+/=]+")
_secrets: set[str] = set()


def remember_secret(value: str) -> None:
    """A configured secret (the watermark key) that is replaced wherever it would appear."""
    if len(value) >= 8:
        _secrets.add(value)


def scrub(text: str) -> str:
    text = _TOKENS.sub(lambda m: (m[1] or m[2]) + "<redacted>", text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "<redacted>")
    return text


def bind(**values: str) -> None:
    """Adds to the current request's or job's context (no-op outside one)."""
    context = CONTEXT.get()
    if context is not None:
        context.update(values)


def _add_context(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    context = CONTEXT.get()
    if context:
        for key in CONTEXT_KEYS:
            if key in context and key not in event:
                event[key] = context[key]
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event.setdefault("trace_id", format(span.trace_id, "032x"))
        event.setdefault("span_id", format(span.span_id, "016x"))
    return event


def _scrub(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = scrub(value)
    return event


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None,
                      quiet: Iterable[str] = ("uvicorn.access",)) -> logging.Handler:
    """Replaces the root logger's handlers with one structlog-formatted handler on `stream`
    (stderr by default). `fmt`: json, console, or auto (console on a terminal)."""
    stream = stream or sys.stderr
    console = fmt == "console" or (fmt == "auto" and stream.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_context,
    ]
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if console:
        final.append(structlog.dev.ConsoleRenderer(colors=True))
    else:
        final += [structlog.processors.format_exc_info, _scrub,
                  structlog.processors.JSONRenderer()]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()], processors=final)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "arq"):  # they would print twice otherwise
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger, cache_logger_on_first_use=True)
    return handler
