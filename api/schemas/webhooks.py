"""Webhook endpoints, their deliveries and attempts (Standard Webhooks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from adapters.webhook_store import Attempt, Delivery

Url = Annotated[str, msgspec.Meta(max_length=2000, examples=["https://hooks.example/consentry"])]


class EndpointIn(msgspec.Struct):
    url: Url
    event_types: Annotated[list[str], msgspec.Meta(max_length=10)]
    description: Annotated[str, msgspec.Meta(max_length=500)] = ""


class EndpointCreated(msgspec.Struct):
    """`secret` (`whsec_...`) is shown once: verify signatures with it."""

    id: str
    secret: str | None
    secret_redacted: bool = False


class EndpointOut(msgspec.Struct):
    id: str
    url: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str
    description: str = ""


class EndpointPage(msgspec.Struct):
    items: list[EndpointOut]
    next_cursor: str | None


class RotationIn(msgspec.Struct):
    """How long the previous secrets keep signing beside the new one."""

    overlap_seconds: Annotated[int, msgspec.Meta(ge=0, le=604_800)] = 86_400


def _when(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


class AttemptOut(msgspec.Struct):
    attempt: int
    at: datetime
    status_code: int | None
    error: str
    duration_ms: float
    response: str

    @classmethod
    def of(cls, a: Attempt) -> AttemptOut:
        return cls(a.attempt, datetime.fromtimestamp(a.at, UTC), a.status_code, a.error,
                   a.duration_ms, a.response)


class DeliveryOut(msgspec.Struct):
    """`message_id` is the `webhook-id` header, the same for every attempt."""

    id: str
    message_id: str
    endpoint_id: str
    event_type: str
    payload: dict[str, Any]
    status: str  # pending | delivered | failed | skipped
    attempt_count: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str
    attempts: list[AttemptOut] | None = None

    @classmethod
    def of(cls, d: Delivery, attempts: list[Attempt] | None = None) -> DeliveryOut:
        return cls(d.id, d.message_id, d.endpoint_id, d.event_type,
                   msgspec.json.decode(d.payload), d.status, d.attempts,
                   _when(d.next_attempt_at) if d.status == "pending" else None,
                   _when(d.delivered_at), d.last_error,
                   [AttemptOut.of(a) for a in attempts] if attempts is not None else None)


class DeliveryPage(msgspec.Struct):
    items: list[DeliveryOut]
    next_cursor: str | None
