"""One mapping from domain errors to RFC 9457 problem+json responses with stable codes."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from domain.errors import DomainError

log = logging.getLogger("consentry.api")
PROBLEM = "application/problem+json"
TYPE_BASE = "https://consentry.dev/problems/"


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> Response[Any]:
    body = {"type": TYPE_BASE + code, "title": title, "status": status, "code": code,
            "detail": detail, **extra}
    return Response(body, status_code=status, media_type=PROBLEM)


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return problem(exc.status, exc.code, type(exc).__name__.removesuffix("Error"), exc.detail,
                   **{k: v for k, v in exc.extra.items() if v is not None})


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, ValidationException):  # the request did not match its schema
        return problem(400, "invalid-input", "Invalid input", str(exc.detail),
                       errors=exc.extra or [])
    code = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
            405: "method-not-allowed", 429: "rate-limited"}.get(exc.status_code, "http-error")
    extra = {"errors": exc.extra} if exc.extra else {}
    return problem(exc.status_code, code, code.replace("-", " "), str(exc.detail), **extra)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Never leak internals to the client; the log has the traceback.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal-error", "Internal error", "the server failed; nothing was "
                   "half-applied, retry with the same Idempotency-Key")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "MediaType", "problem"]
