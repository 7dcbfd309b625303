"""Members, invites, follows and tiers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from api.schemas.common import Handle


class RegisterIn(msgspec.Struct, forbid_unknown_fields=True):
    invite_code: Annotated[str, msgspec.Meta(min_length=4, max_length=40)]
    handle: Handle


class RegisteredOut(msgspec.Struct):
    member_id: str
    secret: str | None
    secret_redacted: bool = False


class InvitesIn(msgspec.Struct, forbid_unknown_fields=True):
    count: Annotated[int, msgspec.Meta(ge=1, le=10)] = 1


class InvitesOut(msgspec.Struct):
    codes: list[str]


class TierIn(msgspec.Struct, forbid_unknown_fields=True):
    tier: Annotated[str, msgspec.Meta(pattern="^(free|pro)$")]


class StrikeOut(msgspec.Struct):
    """A removal of the member's content under a grave enough policy code."""

    case_id: str
    policy_code: str
    severity: int
    at: datetime
    expires_at: datetime


class MemberOut(msgspec.Struct):
    """`generation_suspended_until`: strikes suspended the right to generate until then,
    for `generation_suspension_reason` (live strikes are listed)."""

    id: str
    handle: str
    tier: str
    suspended: bool
    following: list[str]
    verified: bool
    max_clip_seconds: int
    daily_generations: int
    used_today: int
    strikes: list[StrikeOut] = msgspec.field(default_factory=list)
    generation_suspended_until: datetime | None = None
    generation_suspension_reason: str = ""
