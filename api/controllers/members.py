"""Members: registration by invite, invites, follows, tiers and suspension."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import FromPath, JSONBody

from api.deps import (
    WITHDRAWAL,
    ActorDep,
    AuthenticatedController,
    IdempotencyKey,
    Req,
    command,
    container,
    require,
)
from api.schemas.common import Ack
from api.schemas.members import (
    InvitesIn,
    InvitesOut,
    MemberOut,
    RegisteredOut,
    RegisterIn,
    StrikeOut,
    TierIn,
)
from domain.actors import Role
from domain.identity import Identity
from domain.ids import identity_id
from domain.member import Member


class RegistrationController(Controller):
    path = "/members"
    tags = ["members"]

    @post("/", operation_id="registerMember", status_code=201, security=[])
    async def register(self, request: Req, data: JSONBody[RegisterIn],
                       idempotency_key: IdempotencyKey = None) -> RegisteredOut:
        """Redeem an invite code. The response holds the member's first key, shown once."""
        app = container(request).app
        result = await command(request, app.register_member, data.invite_code, data.handle,
                               key=idempotency_key)
        return RegisteredOut(member_id=result["member_id"], secret=result["secret"],
                             secret_redacted=result.get("secret_redacted", False))


class MemberController(AuthenticatedController):
    path = "/members"
    tags = ["members"]

    @get("/me", operation_id="getMe", opt=WITHDRAWAL, sync_to_thread=True)
    def me(self, request: Req, actor: ActorDep) -> MemberOut:
        """The caller's own member record, read from the aggregate (never stale)."""
        require(actor, Role.MEMBER)
        app = container(request).app
        member = app.get(Member, UUID(actor.id))
        identity = app.find(Identity, identity_id(member.id))
        now = app.clock()
        suspended_until = member.generation_suspended_until \
            if member.generation_suspended(now) else None
        return MemberOut(id=str(member.id), handle=member.handle, tier=member.tier,
                         suspended=member.suspended,
                         following=sorted(str(m) for m in member.following),
                         verified=bool(identity and identity.verified),
                         max_clip_seconds=member.limits.max_clip_seconds,
                         daily_generations=member.limits.daily_generations,
                         used_today=member.used_on(now.date()),
                         strikes=[StrikeOut(case_id=str(s.case_id), policy_code=s.policy_code,
                                            severity=s.severity, at=s.at,
                                            expires_at=s.expires_at)
                                  for s in member.live_strikes(now)],
                         generation_suspended_until=suspended_until,
                         generation_suspension_reason=member.generation_suspension_reason
                         if suspended_until else "")

    @delete("/me", operation_id="closeAccount", opt=WITHDRAWAL, status_code=200)
    async def close(self, request: Req, actor: ActorDep) -> Ack:
        """Closes the caller's account, in any state (suspended ones included): the cameo is
        disabled, the biometric identity erased (its key destroyed), every key revoked;
        videos featuring them are taken down and the ones they made deleted, with their
        files. Final."""
        require(actor, Role.MEMBER)
        c = container(request)
        status = await command(request, c.app.close_account, actor)
        await sync_to_thread(c.face_index.catch_up)  # shreds the erased identity here now
        return Ack(status)

    @post("/me/invites", operation_id="issueInvites", status_code=201)
    async def invites(self, request: Req, actor: ActorDep, data: JSONBody[InvitesIn],
                      idempotency_key: IdempotencyKey = None) -> InvitesOut:
        """Invite codes for friends (admins may issue them too)."""
        app = container(request).app
        result = await command(request, app.issue_invites, actor, data.count,
                               key=idempotency_key)
        return InvitesOut(codes=list(result["codes"]))

    @post("/{member_id:uuid}/follow", operation_id="follow", status_code=200)
    async def follow(self, request: Req, actor: ActorDep, member_id: FromPath[UUID],
                     idempotency_key: IdempotencyKey = None) -> Ack:
        app = container(request).app
        await command(request, app.follow, actor, member_id, key=idempotency_key)
        return Ack(status="following")

    @delete("/{member_id:uuid}/follow", operation_id="unfollow", status_code=200)
    async def unfollow(self, request: Req, actor: ActorDep,
                       member_id: FromPath[UUID]) -> Ack:
        app = container(request).app
        await command(request, app.unfollow, actor, member_id)
        return Ack(status="not following")

    @post("/{member_id:uuid}/tier", operation_id="changeTier", status_code=200)
    async def tier(self, request: Req, actor: ActorDep, member_id: FromPath[UUID],
                   data: JSONBody[TierIn], idempotency_key: IdempotencyKey = None) -> Ack:
        """Admins only."""
        app = container(request).app
        tier = await command(request, app.change_tier, actor, member_id, data.tier,
                             key=idempotency_key)
        return Ack(status=tier)
