"""A person using a client app. Holds what the gate must read consistently: tier, suspension,
who they follow (for mutuals) and today's generation count (the daily quota)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor, Role
from domain.aggregate import ConsentryAggregate, Principal
from domain.errors import InviteLimitReachedError, ValidationError


@dataclass(frozen=True)
class Tier:
    name: str
    max_clip_seconds: int
    daily_generations: int
    invites: int  # invite codes a member may issue in all (the operator may change it)


TIERS = {
    "free": Tier("free", max_clip_seconds=10, daily_generations=10, invites=5),
    "pro": Tier("pro", max_clip_seconds=25, daily_generations=100, invites=25),
}


class Member(Principal):
    """Invariants: a known tier; no following oneself; quota counted per UTC day."""

    role = Role.MEMBER

    class Registered(ConsentryAggregate.Created):
        handle: str
        invite_id: UUID | None
        invited_by: UUID | None

    def __init__(self, handle: str, invite_id: UUID | None, invited_by: UUID | None,
                 **kwargs: Any) -> None:
        self._init_keys()
        self.handle = handle
        self.invited_by = invited_by
        self.tier = "free"
        self.following: set[UUID] = set()
        self.suspended = False
        self.suspension_reason = ""
        self.closed = False
        self.quota_day: date | None = None
        self.quota_used = 0
        self.invites_issued = 0

    @classmethod
    def register(cls, actor: Actor, handle: str, invite_id: UUID | None = None,
                 invited_by: UUID | None = None, member_id: UUID | None = None) -> Member:
        return cls._create(cls.Registered, id=member_id or uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), handle=handle, invite_id=invite_id,
                           invited_by=invited_by)

    class InviteCodesIssued(ConsentryAggregate.Event):
        invite_ids: tuple[UUID, ...]

        def apply(self, member: Member) -> None:
            member.invites_issued += len(self.invite_ids)

    class TierChanged(ConsentryAggregate.Event):
        tier: str

        def apply(self, member: Member) -> None:
            member.tier = self.tier

    class Followed(ConsentryAggregate.Event):
        member_id: UUID

        def apply(self, member: Member) -> None:
            member.following.add(self.member_id)

    class Unfollowed(ConsentryAggregate.Event):
        member_id: UUID

        def apply(self, member: Member) -> None:
            member.following.discard(self.member_id)

    class Suspended(ConsentryAggregate.Event):
        reason: str

        def apply(self, member: Member) -> None:
            member.suspended = True
            member.suspension_reason = self.reason

    class Closed(ConsentryAggregate.Event):
        """The member closed their account: every key goes with it."""

        def apply(self, member: Member) -> None:
            member.closed = True
            member.keys, member.key_labels = {}, {}

    class Reinstated(ConsentryAggregate.Event):
        def apply(self, member: Member) -> None:
            member.suspended = False
            member.suspension_reason = ""

    class QuotaConsumed(ConsentryAggregate.Event):
        day: date

        def apply(self, member: Member) -> None:
            if member.quota_day != self.day:
                member.quota_day, member.quota_used = self.day, 0
            member.quota_used += 1

    def record_invites(self, actor: Actor, invite_ids: tuple[UUID, ...], cap: int) -> None:
        """`cap`: how many invites this member's tier allows in all."""
        if self.invites_issued + len(invite_ids) > cap:
            raise InviteLimitReachedError(
                f"the {self.tier} tier allows {cap} invites; {self.invites_issued} issued",
                tier=self.tier, cap=cap, issued=self.invites_issued)
        self._emit(self.InviteCodesIssued, actor, invite_ids=tuple(invite_ids))

    def change_tier(self, actor: Actor, tier: str) -> None:
        if tier not in TIERS:
            raise ValidationError(f"unknown tier {tier!r}", allowed=sorted(TIERS))
        if tier != self.tier:
            self._emit(self.TierChanged, actor, tier=tier)

    def follow(self, actor: Actor, other: UUID) -> None:
        if other == self.id:
            raise ValidationError("a member cannot follow themselves")
        if other not in self.following:
            self._emit(self.Followed, actor, member_id=other)

    def unfollow(self, actor: Actor, other: UUID) -> None:
        if other in self.following:
            self._emit(self.Unfollowed, actor, member_id=other)

    def close(self, actor: Actor) -> None:
        self._require(not self.closed, "the account is already closed")
        self._emit(self.Closed, actor)

    def suspend(self, actor: Actor, reason: str) -> None:
        self._require(not self.suspended, "member is already suspended")
        self._emit(self.Suspended, actor, reason=reason)

    def reinstate(self, actor: Actor) -> None:
        self._require(self.suspended, "member is not suspended")
        self._emit(self.Reinstated, actor)

    def used_on(self, day: date) -> int:
        return self.quota_used if self.quota_day == day else 0

    def consume_quota(self, actor: Actor, day: date) -> None:
        self._emit(self.QuotaConsumed, actor, day=day)

    @property
    def limits(self) -> Tier:
        return TIERS[self.tier]

    @property
    def active(self) -> bool:
        return not self.suspended
