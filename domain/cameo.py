"""A member's likeness consent: who may put them in a video, and what content they forbid."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import ValidationError
from domain.ids import cameo_id
from domain.prompts import CATEGORIES

PERMISSIONS = ("only_me", "approved", "mutuals", "everyone")


class Cameo(ConsentryAggregate):
    """Invariants: one per member (id derived from the member); a known permission level;
    changes need an enabled cameo, except blocks and disabling, which always work so that a
    person can always withdraw consent."""

    class Created(ConsentryAggregate.Created):
        owner_id: UUID

    def __init__(self, owner_id: UUID, **kwargs: Any) -> None:
        self.owner_id = owner_id
        self.enabled = False
        self.permission = "only_me"
        self.approved: set[UUID] = set()
        self.blocked: set[UUID] = set()
        self.forbidden_categories: tuple[str, ...] = ()
        self.instructions = ""

    @classmethod
    def create(cls, actor: Actor, owner_id: UUID) -> Cameo:
        return cls._create(cls.Created, id=cameo_id(owner_id), actor_id=actor.id,
                           actor_role=str(actor.role), owner_id=owner_id)

    class Enabled(ConsentryAggregate.Event):
        permission: str

        def apply(self, cameo: Cameo) -> None:
            cameo.enabled = True
            cameo.permission = self.permission

    class PermissionChanged(ConsentryAggregate.Event):
        permission: str

        def apply(self, cameo: Cameo) -> None:
            cameo.permission = self.permission

    class PersonApproved(ConsentryAggregate.Event):
        member_id: UUID

        def apply(self, cameo: Cameo) -> None:
            cameo.approved.add(self.member_id)

    class ApprovalWithdrawn(ConsentryAggregate.Event):
        member_id: UUID

        def apply(self, cameo: Cameo) -> None:
            cameo.approved.discard(self.member_id)

    class PersonBlocked(ConsentryAggregate.Event):
        member_id: UUID

        def apply(self, cameo: Cameo) -> None:
            cameo.blocked.add(self.member_id)

    class Unblocked(ConsentryAggregate.Event):
        member_id: UUID

        def apply(self, cameo: Cameo) -> None:
            cameo.blocked.discard(self.member_id)

    class RestrictionsSet(ConsentryAggregate.Event):
        forbidden_categories: tuple[str, ...]
        instructions: str

        def apply(self, cameo: Cameo) -> None:
            cameo.forbidden_categories = self.forbidden_categories
            cameo.instructions = self.instructions

    class Disabled(ConsentryAggregate.Event):
        def apply(self, cameo: Cameo) -> None:
            cameo.enabled = False

    def enable(self, actor: Actor, permission: str = "only_me") -> None:
        _check_permission(permission)
        self._require(not self.enabled, "cameo is already enabled")
        self._emit(self.Enabled, actor, permission=permission)

    def change_permission(self, actor: Actor, permission: str) -> None:
        _check_permission(permission)
        self._require(self.enabled, "cameo is disabled")
        if permission != self.permission:
            self._emit(self.PermissionChanged, actor, permission=permission)

    def approve(self, actor: Actor, member_id: UUID) -> None:
        self._require(self.enabled, "cameo is disabled")
        if member_id == self.owner_id:
            raise ValidationError("the owner is always allowed")
        if member_id not in self.approved:
            self._emit(self.PersonApproved, actor, member_id=member_id)

    def withdraw_approval(self, actor: Actor, member_id: UUID) -> None:
        if member_id in self.approved:
            self._emit(self.ApprovalWithdrawn, actor, member_id=member_id)

    def block(self, actor: Actor, member_id: UUID) -> None:
        if member_id == self.owner_id:
            raise ValidationError("a member cannot block themselves")
        if member_id not in self.blocked:
            self._emit(self.PersonBlocked, actor, member_id=member_id)

    def unblock(self, actor: Actor, member_id: UUID) -> None:
        if member_id in self.blocked:
            self._emit(self.Unblocked, actor, member_id=member_id)

    def set_restrictions(self, actor: Actor, forbidden_categories: tuple[str, ...],
                         instructions: str) -> None:
        unknown = sorted(set(forbidden_categories) - set(CATEGORIES))
        if unknown:
            raise ValidationError("unknown content categories", unknown=unknown,
                                  allowed=list(CATEGORIES))
        if len(instructions) > 2000:
            raise ValidationError("instructions are limited to 2000 characters")
        self._emit(self.RestrictionsSet, actor,
                   forbidden_categories=tuple(sorted(set(forbidden_categories))),
                   instructions=instructions)

    def disable(self, actor: Actor) -> None:
        """Withdrawing consent always succeeds: disabling a disabled cameo changes nothing."""
        if self.enabled:
            self._emit(self.Disabled, actor)


def _check_permission(permission: str) -> None:
    if permission not in PERMISSIONS:
        raise ValidationError(f"unknown permission {permission!r}", allowed=list(PERMISSIONS))
