"""Shared API types."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

Handle = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_]{3,30}$", examples=["ada_l"])]
Text = Annotated[str, msgspec.Meta(max_length=4000)]
Cursor = Annotated[str | None, msgspec.Meta(max_length=400)]


class Created(msgspec.Struct):
    id: str


class Ack(msgspec.Struct):
    status: str


class Secret(msgspec.Struct):
    """A credential, shown once. Only its digest is stored."""

    id: str
    secret: str | None
    secret_redacted: bool = False


class Problem(msgspec.Struct):
    """RFC 9457 problem details (media type application/problem+json). `code` is stable."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    rule_codes: list[str] | None = None
    generation_id: str | None = None
    trace: list[dict[str, Any]] | None = None
