"""A member's cameo settings and identity verification."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Permission = Literal["only_me", "approved", "mutuals", "everyone"]
Category = Literal["violence", "sexual", "political", "hate", "self_harm", "minors"]


class EnableIn(msgspec.Struct, forbid_unknown_fields=True):
    permission: Permission = "only_me"


class PermissionIn(msgspec.Struct, forbid_unknown_fields=True):
    permission: Permission


class PersonIn(msgspec.Struct, forbid_unknown_fields=True):
    member_id: str


class RestrictionsIn(msgspec.Struct, forbid_unknown_fields=True):
    forbidden_categories: list[Category] = msgspec.field(default_factory=list)
    instructions: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class CameoOut(msgspec.Struct):
    owner_id: str
    enabled: bool
    permission: str
    approved: list[str]
    blocked: list[str]
    forbidden_categories: list[str]
    instructions: str


class ChallengeOut(msgspec.Struct):
    nonce: str
    digits: str
    directions: list[str]
    expires_at: str
    upload_to: str


class IdentityOut(msgspec.Struct):
    status: str
    verified: bool
    model_id: str
    failure_reasons: list[str]
