"""Members, invites, follows and tiers."""

from __future__ import annotations

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


class MemberOut(msgspec.Struct):
    id: str
    handle: str
    tier: str
    suspended: bool
    following: list[str]
    verified: bool
    max_clip_seconds: int
    daily_generations: int
    used_today: int
