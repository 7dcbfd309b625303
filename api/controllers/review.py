"""The trust-and-safety review queue (reviewers and admins), appeals by authors, and the
cases authors can see about their own content."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import get, post
from litestar.concurrency import sync_to_thread
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
from api.schemas.generations import GenerationOut
from api.schemas.review import (
    AppealIn,
    AuthorCaseOut,
    AuthorCasePage,
    CaseDetailOut,
    CaseOut,
    CasePage,
    CaseState,
    CommentIn,
    DecisionIn,
    EscalateIn,
    PriorityName,
    ReportOut,
)
from domain.actors import Actor, Role
from domain.errors import NotFoundError, PermissionDeniedError
from domain.review_case import PRIORITIES
from domain.staff import Staff
from projections.review_queue import WORK_STATES, CaseRow

STAFF = (Role.REVIEWER, Role.ADMIN)
States = Annotated[list[CaseState] | None, QueryParameter(
    name="state", required=False,
    description="Repeat to combine; default: the cases someone can act on (open, appealed).")]
MinPriority = Annotated[PriorityName, QueryParameter(
    name="min_priority", description="Only cases at least this urgent.")]
Available = Annotated[bool, QueryParameter(
    name="available", description="Hide cases another reviewer holds an unexpired claim on "
                                  "(the next case to work on).")]


async def own_member_account(request: Req, actor: Actor) -> UUID | None:
    """A staff member's own app account, if linked: its cases are not theirs to review."""
    app = container(request).app
    staff = await sync_to_thread(app.find, Staff, UUID(actor.id))
    return staff.member_id if staff is not None else None


async def case_for_staff(request: Req, actor: Actor, case_id: UUID) -> CaseRow:
    require(actor, *STAFF)
    row = await views(request).review_queue.get(case_id)
    if row is None:
        raise NotFoundError("Case not found", id=str(case_id))
    mine = await own_member_account(request, actor)
    if mine is not None and row.subject_owner_id == mine:
        raise PermissionDeniedError("a reviewer cannot review their own content")
    return row


async def case_out(request: Req, case_id: UUID) -> CaseOut:
    row = await views(request).review_queue.get(case_id)
    if row is None:
        raise NotFoundError("Case not found", id=str(case_id))
    return CaseOut.of(row)


class ReviewController(AuthenticatedController):
    path = "/review/cases"
    tags = ["review"]

    @get("/", operation_id="listReviewCases")
    async def list_cases(self, request: Req, actor: ActorDep, states: States = None,
                         min_priority: MinPriority = "low", available: Available = False,
                         cursor: CursorQuery = None, limit: Limit = 50) -> CasePage:
        """Most urgent first, oldest first within a priority. Cases about the caller's own
        content never appear."""
        require(actor, *STAFF)
        rows, next_cursor = await views(request).review_queue.list_cases(
            states=tuple(states or WORK_STATES), max_priority=PRIORITIES[min_priority],
            available_to=actor.id if available else None,
            now=container(request).app.clock(),
            excluding_owner=await own_member_account(request, actor), cursor=cursor,
            limit=limit)
        return CasePage(items=[CaseOut.of(r) for r in rows], next_cursor=next_cursor)

    @get("/{case_id:uuid}", operation_id="getReviewCase")
    async def get_case(self, request: Req, actor: ActorDep,
                       case_id: FromPath[UUID]) -> CaseDetailOut:
        """The case with its evidence (scores, frames), comments, reports and, for a
        generation, its status and complete decision trace."""
        row = await case_for_staff(request, actor, case_id)
        v = views(request)
        generation = await v.generation_status.get(row.subject_id) \
            if row.subject_kind == "generation" else None
        return CaseDetailOut(
            **CaseOut.fields_of(row),
            reports=[ReportOut.of(r) for r in await v.review_queue.reports(case_id)],
            generation=GenerationOut.of(generation, full_trace=True) if generation else None)

    @post("/{case_id:uuid}/claim", operation_id="claimReviewCase", status_code=200)
    async def claim(self, request: Req, actor: ActorDep, case_id: FromPath[UUID],
                    idempotency_key: IdempotencyKey = None) -> CaseOut:
        """A lease on the case (15 minutes; claim again to renew). An expired lease lets
        another reviewer take it."""
        require(actor, *STAFF)
        app = container(request).app
        await command(request, app.claim_case, actor, case_id, key=idempotency_key)
        return await case_out(request, case_id)

    @post("/{case_id:uuid}/release", operation_id="releaseReviewCase", status_code=200)
    async def release(self, request: Req, actor: ActorDep, case_id: FromPath[UUID],
                      idempotency_key: IdempotencyKey = None) -> CaseOut:
        """Gives the claim back (its holder only)."""
        require(actor, *STAFF)
        app = container(request).app
        await command(request, app.release_case, actor, case_id, key=idempotency_key)
        return await case_out(request, case_id)

    @post("/{case_id:uuid}/comments", operation_id="commentOnReviewCase", status_code=201)
    async def comment(self, request: Req, actor: ActorDep, case_id: FromPath[UUID],
                      data: JSONBody[CommentIn],
                      idempotency_key: IdempotencyKey = None) -> CaseOut:
        """An internal comment, or a note the author of the content will read."""
        require(actor, *STAFF)
        app = container(request).app
        await command(request, app.comment_case, actor, case_id, data.text,
                      data.visibility == "internal", key=idempotency_key)
        return await case_out(request, case_id)

    @post("/{case_id:uuid}/escalate", operation_id="escalateReviewCase", status_code=200)
    async def escalate(self, request: Req, actor: ActorDep, case_id: FromPath[UUID],
                       data: JSONBody[EscalateIn],
                       idempotency_key: IdempotencyKey = None) -> CaseOut:
        """Moves the case to the front of the queue (urgent). Only the claim's holder or an
        admin (a lead) may move a claimed case; the holder keeps the claim unless
        `release` is true, and a lead moving someone else's claim releases it."""
        require(actor, *STAFF)
        app = container(request).app
        await command(request, app.escalate_case, actor, case_id, data.reason, data.release,
                      key=idempotency_key)
        return await case_out(request, case_id)

    @post("/{case_id:uuid}/decision", operation_id="decideReviewCase", status_code=200)
    async def decide(self, request: Req, actor: ActorDep, case_id: FromPath[UUID],
                     data: JSONBody[DecisionIn],
                     idempotency_key: IdempotencyKey = None) -> CaseOut:
        """Approve, remove or restrict, with a policy code; needs a live claim. The subject
        follows in the same transaction (a held generation continues or is rejected, a
        published one is taken down)."""
        require(actor, *STAFF)
        app = container(request).app
        await command(request, app.decide_case, actor, case_id, data.decision,
                      data.policy_code, key=idempotency_key)
        return await case_out(request, case_id)

    @post("/{case_id:uuid}/appeal-decision", operation_id="decideAppeal", status_code=200)
    async def decide_appeal(self, request: Req, actor: ActorDep, case_id: FromPath[UUID],
                            data: JSONBody[DecisionIn],
                            idempotency_key: IdempotencyKey = None) -> CaseOut:
        """Decides an appeal: a different reviewer than the first decision's (four eyes),
        holding a live claim. Approving overturns a removal."""
        require(actor, *STAFF)
        app = container(request).app
        await command(request, app.decide_appeal, actor, case_id, data.decision,
                      data.policy_code, key=idempotency_key)
        return await case_out(request, case_id)

    @post("/{case_id:uuid}/appeal", operation_id="appealReviewCase", status_code=200)
    async def appeal(self, request: Req, actor: ActorDep, case_id: FromPath[UUID],
                     data: JSONBody[AppealIn],
                     idempotency_key: IdempotencyKey = None) -> AuthorCaseOut:
        """The author of the content appeals a decision, once."""
        require(actor, Role.MEMBER)
        app = container(request).app
        await command(request, app.appeal_case, actor, case_id, data.text,
                      key=idempotency_key)
        row = await views(request).review_queue.get(case_id)
        if row is None:
            raise NotFoundError("Case not found", id=str(case_id))
        return AuthorCaseOut.of(row)


class MyCasesController(AuthenticatedController):
    path = "/members/me/cases"
    tags = ["review"]

    @get("/", operation_id="listMyCases")
    async def mine(self, request: Req, actor: ActorDep, cursor: CursorQuery = None,
                   limit: Limit = 50) -> AuthorCasePage:
        """Cases about the caller's own content, newest first: outcomes and the notes
        addressed to them."""
        require(actor, Role.MEMBER)
        rows, next_cursor = await views(request).review_queue.list_by_owner(
            UUID(actor.id), cursor, limit)
        return AuthorCasePage(items=[AuthorCaseOut.of(r) for r in rows],
                              next_cursor=next_cursor)

