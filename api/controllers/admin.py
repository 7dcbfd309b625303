"""Admin endpoints: enrol staff and change their roles, issue and revoke keys of any
principal, suspend and reinstate members, and read the audit log."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.controllers.identity import CursorQuery, Limit
from api.deps import (
    ActorDep,
    AuthenticatedController,
    IdempotencyKey,
    Req,
    command,
    container,
    require,
    views,
)
from api.schemas.admin import (
    AuditEntryOut,
    AuditPage,
    GradeIn,
    KeyIn,
    KeyOut,
    RoleIn,
    StaffIn,
    SuspendIn,
)
from api.schemas.common import Ack, Secret
from domain.actors import Role

ActorQuery = Annotated[str, QueryParameter(
    name="actor", min_length=1, max_length=200,
    description="An actor id: a member, rights holder or staff id, `system`, or a worker.")]


class AdminController(AuthenticatedController):
    path = "/admin"
    tags = ["admin"]

    @post("/staff", operation_id="enrolStaff", status_code=201)
    async def enrol(self, request: Req, actor: ActorDep, data: JSONBody[StaffIn],
                    idempotency_key: IdempotencyKey = None) -> Secret:
        """A reviewer, admin or worker identity; the response holds its first key, shown
        once."""
        require(actor, Role.ADMIN)
        app = container(request).app
        result = await command(request, app.enrol_staff, actor, data.name, data.role,
                               key=idempotency_key, member_id=data.member_id,
                               grade=data.grade)
        return Secret(id=result["staff_id"], secret=result["secret"],
                      secret_redacted=result.get("secret_redacted", False))

    @post("/staff/{staff_id:uuid}/role", operation_id="changeStaffRole", status_code=200)
    async def change_role(self, request: Req, actor: ActorDep, staff_id: FromPath[UUID],
                          data: JSONBody[RoleIn],
                          idempotency_key: IdempotencyKey = None) -> Ack:
        require(actor, Role.ADMIN)
        app = container(request).app
        await command(request, app.change_staff_role, actor, staff_id, data.role,
                      key=idempotency_key)
        return Ack(status=data.role)

    @post("/staff/{staff_id:uuid}/grade", operation_id="changeStaffGrade", status_code=200)
    async def change_grade(self, request: Req, actor: ActorDep, staff_id: FromPath[UUID],
                           data: JSONBody[GradeIn],
                           idempotency_key: IdempotencyKey = None) -> Ack:
        """Which queues a reviewer works: triage, reviewer or senior (see the queues in
        /review/config)."""
        require(actor, Role.ADMIN)
        app = container(request).app
        await command(request, app.change_staff_grade, actor, staff_id, data.grade,
                      key=idempotency_key)
        return Ack(status=data.grade)

    @post("/principals/{principal_id:uuid}/keys", operation_id="issueKeyForPrincipal",
          status_code=201)
    async def issue_key(self, request: Req, actor: ActorDep, principal_id: FromPath[UUID],
                        data: JSONBody[KeyIn],
                        idempotency_key: IdempotencyKey = None) -> KeyOut:
        """A new key for any member, rights holder or staff identity, shown once."""
        require(actor, Role.ADMIN)
        app = container(request).app
        result = await command(request, app.issue_key, actor, principal_id, data.label,
                               key=idempotency_key)
        return KeyOut(key_id=result["key_id"], secret=result["secret"],
                      secret_redacted=result.get("secret_redacted", False))

    @delete("/principals/{principal_id:uuid}/keys/{key_id:str}",
            operation_id="revokeKeyOfPrincipal", status_code=200)
    async def revoke_key(self, request: Req, actor: ActorDep, principal_id: FromPath[UUID],
                         key_id: FromPath[str]) -> Ack:
        """Stops the key working at once (requests are authenticated against the
        principal's own record, not a cache)."""
        require(actor, Role.ADMIN)
        app = container(request).app
        await command(request, app.revoke_key, actor, principal_id, key_id)
        return Ack(status="revoked")

    @post("/members/{member_id:uuid}/suspend", operation_id="suspendMember", status_code=200)
    async def suspend(self, request: Req, actor: ActorDep, member_id: FromPath[UUID],
                      data: JSONBody[SuspendIn],
                      idempotency_key: IdempotencyKey = None) -> Ack:
        """The member's keys stop working and the gate denies their requests."""
        require(actor, Role.ADMIN)
        app = container(request).app
        await command(request, app.suspend_member, actor, member_id, data.reason,
                      key=idempotency_key)
        return Ack(status="suspended")

    @post("/members/{member_id:uuid}/reinstate", operation_id="reinstateMember",
          status_code=200)
    async def reinstate(self, request: Req, actor: ActorDep, member_id: FromPath[UUID],
                        idempotency_key: IdempotencyKey = None) -> Ack:
        require(actor, Role.ADMIN)
        app = container(request).app
        await command(request, app.reinstate_member, actor, member_id, key=idempotency_key)
        return Ack(status="active")

    @get("/audit/{aggregate_id:uuid}", operation_id="getAuditHistory")
    async def history(self, request: Req, actor: ActorDep, aggregate_id: FromPath[UUID],
                      cursor: CursorQuery = None, limit: Limit = 50) -> AuditPage:
        """Every event of one aggregate (a member, case, generation, grant...), oldest
        first."""
        require(actor, Role.ADMIN)
        entries, next_cursor = await views(request).audit.history(aggregate_id, cursor, limit)
        return AuditPage(items=[AuditEntryOut.of(e) for e in entries], next_cursor=next_cursor)

    @get("/audit", operation_id="listAuditByActor")
    async def by_actor(self, request: Req, actor: ActorDep, actor_id: ActorQuery,
                       cursor: CursorQuery = None, limit: Limit = 50) -> AuditPage:
        """Everything one actor caused, newest first."""
        require(actor, Role.ADMIN)
        entries, next_cursor = await views(request).audit.by_actor_id(actor_id, cursor, limit)
        return AuditPage(items=[AuditEntryOut.of(e) for e in entries], next_cursor=next_cursor)
