"""A person using a client app. Holds what the gate must read consistently: tier, suspension,
who they follow (for mutuals) and today's generation count (the daily quota)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor, Role
from domain.aggregate import ConsentryAggregate, Principal
from domain.errors import DomainError, InviteLimitReachedError, ValidationError
from domain.retroactive import MATCH_POLICIES


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


@dataclass(frozen=True)
class Strike:
    """A removal under a grave enough policy code, live until `expires_at`."""

    case_id: UUID
    policy_code: str
    severity: int
    at: datetime
    expires_at: datetime


class GenerationSuspendedError(DomainError):
    """Strikes suspended this member's right to generate until a time."""

    code = "generation-suspended"
    status = 403


class Member(Principal):
    """Invariants: a known tier; no following oneself; quota counted per UTC day; at most
    one strike per case; generation stays suspended until its end (or until a withdrawn
    strike leaves fewer live strikes than the limit that suspended it)."""

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
        self.strikes: list[Strike] = []
        self.generation_suspended_until: datetime | None = None
        self.generation_suspension_reason = ""
        # What a video found showing this member's face after they verified does (a
        # retroactive scan): MATCH_POLICIES, `review` until they choose.
        self.match_policy = "review"

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

    class StrikeAdded(ConsentryAggregate.Event):
        case_id: UUID
        policy_code: str
        severity: int
        expires_at: datetime

        def apply(self, member: Member) -> None:
            member.strikes.append(Strike(self.case_id, self.policy_code, self.severity,
                                         self.timestamp, self.expires_at))

    class StrikeWithdrawn(ConsentryAggregate.Event):
        """The removal was overturned on appeal."""

        case_id: UUID

        def apply(self, member: Member) -> None:
            member.strikes = [s for s in member.strikes if s.case_id != self.case_id]

    class GenerationSuspended(ConsentryAggregate.Event):
        until: datetime
        reason: str

        def apply(self, member: Member) -> None:
            member.generation_suspended_until = self.until
            member.generation_suspension_reason = self.reason

    class GenerationSuspensionLifted(ConsentryAggregate.Event):
        reason: str

        def apply(self, member: Member) -> None:
            member.generation_suspended_until = None
            member.generation_suspension_reason = ""

    def live_strikes(self, now: datetime) -> list[Strike]:
        return [s for s in self.strikes if s.expires_at > now]

    def add_strike(self, actor: Actor, case_id: UUID, policy_code: str, severity: int,
                   now: datetime, lifetime: timedelta, limit: int,
                   suspension: timedelta) -> None:
        """A strike for a removal; the `limit`-th live one suspends generation for
        `suspension`."""
        if any(s.case_id == case_id for s in self.strikes):
            return
        self._emit(self.StrikeAdded, actor, case_id=case_id, policy_code=policy_code,
                   severity=severity, expires_at=now + lifetime)
        live = self.live_strikes(now)
        if len(live) >= limit and not self.generation_suspended(now):
            codes = ", ".join(s.policy_code for s in live)
            self._emit(self.GenerationSuspended, actor, until=now + suspension,
                       reason=f"{len(live)} strikes in force ({codes})")

    def withdraw_strike(self, actor: Actor, case_id: UUID, now: datetime, limit: int) -> None:
        if not any(s.case_id == case_id for s in self.strikes):
            return
        self._emit(self.StrikeWithdrawn, actor, case_id=case_id)
        if self.generation_suspended(now) and len(self.live_strikes(now)) < limit:
            self._emit(self.GenerationSuspensionLifted, actor,
                       reason="a strike was withdrawn on appeal")

    def generation_suspended(self, now: datetime) -> bool:
        return self.generation_suspended_until is not None \
            and now < self.generation_suspended_until

    def check_may_generate(self, now: datetime) -> None:
        if self.generation_suspended(now):
            raise GenerationSuspendedError(
                f"generation is suspended until {self.generation_suspended_until:%Y-%m-%d %H:%M}"
                f" UTC: {self.generation_suspension_reason}",
                until=str(self.generation_suspended_until),
                reason=self.generation_suspension_reason)

    def record_invites(self, actor: Actor, invite_ids: tuple[UUID, ...], cap: int) -> None:
        """`cap`: how many invites this member's tier allows in all."""
        if self.invites_issued + len(invite_ids) > cap:
            raise InviteLimitReachedError(
                f"the {self.tier} tier allows {cap} invites; {self.invites_issued} issued",
                tier=self.tier, cap=cap, issued=self.invites_issued)
        self._emit(self.InviteCodesIssued, actor, invite_ids=tuple(invite_ids))

    class MatchPolicySet(ConsentryAggregate.Event):
        policy: str

        def apply(self, member: Member) -> None:
            member.match_policy = self.policy

    def set_match_policy(self, actor: Actor, policy: str) -> None:
        if policy not in MATCH_POLICIES:
            raise ValidationError("unknown match policy", allowed=list(MATCH_POLICIES))
        if policy != self.match_policy:
            self._emit(self.MatchPolicySet, actor, policy=policy)

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
