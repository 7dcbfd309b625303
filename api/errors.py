"""One mapping from domain errors to RFC 9457 problem+json responses with stable codes."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from domain.errors import DomainError

log = logging.getLogger("consentry.api")
PROBLEM = "application/problem+json"
TYPE_BASE = "https://consentry.dev/problems/"


def problem(status: int, code: str, title: str, detail: str, *,
            headers: dict[str, str] | None = None, **extra: Any) -> Response[Any]:
    body = {"type": TYPE_BASE + code, "title": title, "status": status, "code": code,
            "detail": detail, **extra}
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    extra = {k: v for k, v in exc.extra.items() if v is not None}
    # Every refusal that says when to come back says it in the standard header too.
    retry = extra.get("retry_after")
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return problem(exc.status, exc.code, type(exc).__name__.removesuffix("Error"), exc.detail,
                   headers=headers, **extra)


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, ValidationException):  # the request did not match its schema
        return problem(400, "invalid-input", "Invalid input", str(exc.detail),
                       errors=exc.extra or [])
    code = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
            405: "method-not-allowed", 413: "body-too-large", 429: "rate-limited"}.get(
        exc.status_code, "http-error")
    extra: dict[str, Any] = {"errors": exc.extra} if exc.extra else {}
    return problem(exc.status_code, code, code.replace("-", " "), str(exc.detail), **extra)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The boundary for anything unexpected: a problem+json 500 with an id the log line
    carries too (logged once, with the traceback); never the internals."""
    error_id = uuid.uuid4().hex
    log.error("unhandled error %s on %s %s", error_id, request.method, request.url.path,
              exc_info=exc)
    return problem(500, "internal-error", "Internal error", "the server failed; a command "
                   "commits all of its events or none, so retrying with the same "
                   "Idempotency-Key is safe", error_id=error_id)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "MediaType", "problem"]
