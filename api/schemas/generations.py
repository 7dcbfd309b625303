"""Generation requests, status and listings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from domain.gate.decision import redact
from projections.generation_status import GenerationRow


class GenerationIn(msgspec.Struct, forbid_unknown_fields=True):
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    seconds: Annotated[int, msgspec.Meta(ge=1, le=60)]
    cameo_owner_ids: Annotated[list[str], msgspec.Meta(max_length=4)] = msgspec.field(
        default_factory=list)
    remix_of: str | None = None
    params: dict[str, Annotated[str, msgspec.Meta(max_length=200)]] = msgspec.field(
        default_factory=dict)


class RequestedOut(msgspec.Struct):
    generation_id: str
    outcome: str
    rule_codes: list[str]


class GenerationOut(msgspec.Struct):
    id: str
    requester_id: str
    prompt: str
    state: str
    outcome: str
    rule_codes: list[str]
    cameo_owner_ids: list[str]
    work_ids: list[str]
    # Everyone and every work it shows: named, inherited through remixes, seen in frames.
    featured_member_ids: list[str]
    featured_work_ids: list[str]
    seconds: int
    remix_of: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    restricted: bool
    takedown_cause: dict[str, str]
    hold_cause: dict[str, str]
    trace: list[dict[str, Any]]

    @classmethod
    def of(cls, row: GenerationRow, full_trace: bool = False) -> GenerationOut:
        return cls(
            id=str(row.id), requester_id=str(row.requester_id), prompt=row.prompt,
            state=row.state, outcome=row.outcome, rule_codes=list(row.rule_codes),
            cameo_owner_ids=[str(c) for c in row.cameo_owner_ids],
            work_ids=[str(w) for w in row.work_ids],
            featured_member_ids=[str(m) for m in row.featured_member_ids],
            featured_work_ids=[str(w) for w in row.featured_work_ids], seconds=row.seconds,
            remix_of=str(row.remix_of) if row.remix_of else None, created_at=row.created_at,
            updated_at=row.updated_at, published_at=row.published_at,
            restricted=row.restricted, takedown_cause=dict(row.takedown_cause),
            hold_cause=dict(row.hold_cause),
            trace=list(row.trace) if full_trace else redact(row.trace))


class GenerationPage(msgspec.Struct):
    items: list[GenerationOut]
    next_cursor: str | None
