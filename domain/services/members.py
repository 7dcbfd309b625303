"""Member commands: invites, registration, follows, tiers, suspension."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor, Role
from domain.errors import AlreadyExistsError, ValidationError
from domain.ids import handle_claim_id, invite_id
from domain.invite import HandleClaim, Invite
from domain.member import TIERS, Member
from domain.services.access import new_key, require_role
from domain.services.cases import CaseCommands

HANDLE = re.compile(r"^[A-Za-z0-9_]{3,30}$")
MAX_INVITES_PER_CALL = 10


class MemberCommands(CaseCommands):
    # Invites per member, by tier, when the operator sets them (else the tier's default).
    invite_caps: Mapping[str, int] = MappingProxyType({})

    def issue_invites(self, actor: Actor, count: int, key: str | None = None
                      ) -> dict[str, Any]:
        require_role(actor, Role.MEMBER, Role.ADMIN)
        if not 1 <= count <= MAX_INVITES_PER_CALL:
            raise ValidationError(f"count must be 1..{MAX_INVITES_PER_CALL}")

        def body() -> tuple[dict[str, Any], list[Any]]:
            codes = [secrets.token_hex(5).upper() for _ in range(count)]
            invites = [Invite.issue(actor, code) for code in codes]
            changed: list[Any] = list(invites)
            if actor.role == Role.MEMBER:
                member = self.get(Member, UUID(actor.id))
                cap = self.invite_caps.get(member.tier, TIERS[member.tier].invites)
                member.record_invites(actor, tuple(i.id for i in invites), cap)
                changed.append(member)
            return {"codes": codes}, changed

        return self.run("issue_invites", actor, key, {"count": count}, body)

    def register_member(self, invite_code: str, handle: str, key: str | None = None
                        ) -> dict[str, Any]:
        if not HANDLE.match(handle):
            raise ValidationError("a handle is 3-30 letters, digits or underscores")
        member_id = uuid4()
        actor = Actor(str(member_id), Role.MEMBER)

        def body() -> tuple[dict[str, Any], list[Any]]:
            invite = self.find(Invite, invite_id(invite_code))
            if invite is None:
                raise ValidationError("unknown invite code")
            if invite.redeemed_by is not None:
                raise ValidationError("invite code already redeemed")
            if self.find(HandleClaim, handle_claim_id(handle)) is not None:
                raise AlreadyExistsError("handle is taken", handle=handle)
            inviter = UUID(invite.issued_by) if _is_uuid(invite.issued_by) else None
            invite.redeem(actor, member_id)
            claim = HandleClaim.claim(actor, handle, member_id)
            member = Member.register(actor, handle, invite.id, inviter, member_id=member_id)
            token = new_key(member, actor, "registration")
            return {"member_id": str(member_id), "secret": token}, [invite, claim, member]

        # The key scopes to the invite code: the caller has no identity yet.
        anonymous = Actor(f"invite:{invite_code.strip().upper()}", Role.MEMBER)
        return self.run("register_member", anonymous, key, {"handle": handle}, body)

    def follow(self, actor: Actor, other_id: UUID, key: str | None = None) -> str:
        require_role(actor, Role.MEMBER)

        def body() -> tuple[str, list[Any]]:
            self.get(Member, other_id, "member")
            me = self.get(Member, UUID(actor.id))
            me.follow(actor, other_id)
            return str(other_id), [me]

        return self.run("follow", actor, key, {"other": other_id}, body)

    def unfollow(self, actor: Actor, other_id: UUID, key: str | None = None) -> str:
        require_role(actor, Role.MEMBER)

        def body() -> tuple[str, list[Any]]:
            me = self.get(Member, UUID(actor.id))
            me.unfollow(actor, other_id)
            return str(other_id), [me]

        return self.run("unfollow", actor, key, {"other": other_id}, body)

    def change_tier(self, actor: Actor, member_id: UUID, tier: str, key: str | None = None
                    ) -> str:
        require_role(actor, Role.ADMIN)

        def body() -> tuple[str, list[Any]]:
            member = self.get(Member, member_id)
            member.change_tier(actor, tier)
            return tier, [member]

        return self.run("change_tier", actor, key, {"id": member_id, "tier": tier}, body)

    def suspend_member(self, actor: Actor, member_id: UUID, reason: str,
                       key: str | None = None) -> str:
        require_role(actor, Role.ADMIN)

        def body() -> tuple[str, list[Any]]:
            member = self.get(Member, member_id)
            member.suspend(actor, reason)
            return str(member_id), [member]

        return self.run("suspend_member", actor, key, {"id": member_id, "r": reason}, body)

    def reinstate_member(self, actor: Actor, member_id: UUID, key: str | None = None) -> str:
        require_role(actor, Role.ADMIN)

        def body() -> tuple[str, list[Any]]:
            member = self.get(Member, member_id)
            member.reinstate(actor)
            return str(member_id), [member]

        return self.run("reinstate_member", actor, key, {"id": member_id}, body)


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
