"""Invite codes and handle claims: small aggregates whose ids derive from the code or handle,
so a second redemption or a duplicate handle conflicts in the event store itself."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.ids import handle_claim_id, invite_id


class Invite(ConsentryAggregate):
    """One invite code; redeemable once."""

    class Issued(ConsentryAggregate.Created):
        issued_by: str

    def __init__(self, issued_by: str, **kwargs: Any) -> None:
        self.issued_by = issued_by
        self.redeemed_by: UUID | None = None

    @classmethod
    def issue(cls, actor: Actor, code: str) -> Invite:
        return cls._create(cls.Issued, id=invite_id(code), actor_id=actor.id,
                           actor_role=str(actor.role), issued_by=actor.id)

    class Redeemed(ConsentryAggregate.Event):
        member_id: UUID

        def apply(self, invite: Invite) -> None:
            invite.redeemed_by = self.member_id

    def redeem(self, actor: Actor, member_id: UUID) -> None:
        self._require(self.redeemed_by is None, "invite code already redeemed")
        self._emit(self.Redeemed, actor, member_id=member_id)


class HandleClaim(ConsentryAggregate):
    """Reserves a handle (case-insensitively) for one member."""

    class Claimed(ConsentryAggregate.Created):
        handle: str
        member_id: UUID

    def __init__(self, handle: str, member_id: UUID, **kwargs: Any) -> None:
        self.handle = handle
        self.member_id = member_id

    @classmethod
    def claim(cls, actor: Actor, handle: str, member_id: UUID) -> HandleClaim:
        return cls._create(cls.Claimed, id=handle_claim_id(handle), actor_id=actor.id,
                           actor_role=str(actor.role), handle=handle, member_id=member_id)
