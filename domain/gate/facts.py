"""The snapshot the gate decides on: plain frozen values read from the aggregates in one
go, each carrying the aggregate version it came from (the trace records them, and the
publish-time re-check compares them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from domain.generation import State
from domain.prompts import AliasHit, CategoryLabel, InstructionVerdict


@dataclass(frozen=True)
class RequesterFacts:
    id: UUID
    version: int
    identity_version: int
    verified: bool
    suspended: bool
    tier: str
    max_clip_seconds: int
    daily_generations: int
    used_today: int
    following: frozenset[UUID]


@dataclass(frozen=True)
class CameoFacts:
    """A person asked to appear. `inherited` marks cameos that come from a remix source."""

    owner_id: UUID
    owner_version: int
    owner_following: frozenset[UUID]
    identity_version: int
    verified: bool
    cameo_version: int
    enabled: bool
    permission: str
    approved: frozenset[UUID]
    blocked: frozenset[UUID]
    forbidden_categories: tuple[str, ...]
    instructions: str = ""
    # What the instruction checker said of this prompt (None: no instructions to check).
    instruction_verdict: InstructionVerdict | None = None
    inherited: bool = False


@dataclass(frozen=True)
class GrantFacts:
    id: UUID
    version: int
    valid_now: bool
    audience: str
    members: frozenset[UUID]
    tiers: tuple[str, ...]
    uses: tuple[str, ...]
    forbidden_categories: tuple[str, ...]
    attribution_required: bool


@dataclass(frozen=True)
class WorkFacts:
    id: UUID
    version: int
    title: str
    kind: str
    withdrawn: bool
    likeness_member_id: UUID | None
    grants: tuple[GrantFacts, ...]
    hits: tuple[AliasHit, ...] = ()
    inherited: bool = False
    # Found in the generated frames rather than named (a re-check after the scan).
    visual: bool = False


@dataclass(frozen=True)
class RemixFacts:
    id: UUID
    version: int
    state: State


@dataclass(frozen=True)
class GateInput:
    requester: RequesterFacts
    prompt: str
    seconds: int
    now: datetime
    categories: tuple[CategoryLabel, ...] = ()
    cameos: tuple[CameoFacts, ...] = ()
    works: tuple[WorkFacts, ...] = ()
    remix: RemixFacts | None = None
    semantic_matcher_configured: bool = False
    registered_works: int = 0  # works a prompt could describe without naming them
    notes: tuple[str, ...] = field(default=())
