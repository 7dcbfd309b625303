"""The trust-and-safety review queue (reviewers and admins), appeals by authors, and the
cases authors can see about their own content."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Response, get, post, put
from litestar.concurrency import sync_to_thread
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from adapters.evidence_media import Shown, filtered_image, filtered_video
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
from api.schemas.common import Ack
from api.schemas.generations import GenerationOut
from api.schemas.review import (
    AppealIn,
    AuthorCaseOut,
    AuthorCasePage,
    CalibrationIn,
    CalibrationItemOut,
    CalibrationOut,
    CalibrationPage,
    CaseDetailOut,
    CaseOut,
    CasePage,
    CaseState,
    CommentIn,
    DecisionIn,
    EscalateIn,
    EvidenceItemOut,
    EvidenceOut,
    PriorityName,
    ReportOut,
    StatisticsOut,
    WellnessIn,
)
from domain.actors import Actor, Role
from domain.errors import NotFoundError, ValidationError
from domain.review_case import PRIORITIES, WORK_STATES
from domain.review_config import QueueForbidsError
from projections.review_queue import LOWEST, CaseRow

STAFF = (Role.REVIEWER, Role.ADMIN)
States = Annotated[list[CaseState] | None, QueryParameter(
    name="state", required=False,
    description="Repeat to combine; default: the cases someone can act on (open, appealed).")]
MinPriority = Annotated[PriorityName, QueryParameter(
    name="min_priority", description="Only cases at least this urgent.")]
Available = Annotated[bool, QueryParameter(
    name="available", description="Hide cases another reviewer holds an unexpired claim on "
                                  "(the next case to work on).")]
QueueQuery = Annotated[str | None, QueryParameter(
    name="queue", required=False, max_length=40,
    description="Only this queue's cases (one the caller works).")]
EvidenceItemName = Annotated[str, PathParameter(
    pattern=r"^(video|frame:[0-9]{1,4})$", description="`video` or `frame:<n>`")]
Unblurred = Annotated[bool, QueryParameter(
    name="unblurred", description="The item as it is, not blurred or in grayscale.")]
LabelName = Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9:-]{0,39}$",
                                         description="A content label, e.g. safety")]


async def own_member_account(request: Req, actor: Actor) -> UUID | None:
    """A staff member's own app account, if linked: its cases are not theirs to review."""
    app = container(request).app
    staff = await sync_to_thread(app.staff_of, actor)
    return staff.member_id if staff is not None else None


async def case_for_staff(request: Req, actor: Actor, case_id: UUID) -> CaseRow:
    """The case's row, for staff who may see the case: their grade works its queue and
    they are not part of its content (the write side decides, not the read model)."""
    require(actor, *STAFF)
    await sync_to_thread(container(request).app.case_for, actor, case_id)
    row = await views(request).review_queue.get(case_id)
    if row is None:
        raise NotFoundError("Case not found", id=str(case_id))
    return row


async def list_for_staff(request: Req, actor: Actor, *, states: tuple[str, ...] = WORK_STATES,
                         max_priority: int = LOWEST, available: bool = False,
                         queue: str | None = None, cursor: str | None = None,
                         limit: int = 50) -> tuple[list[CaseRow], str | None]:
    """The cases of the queues this staff member works (or of one of them), never those
    about their own content."""
    require(actor, *STAFF)
    app = container(request).app
    queues = await sync_to_thread(app.workable_queues, actor)
    if queue is not None:
        if queue not in queues:
            raise QueueForbidsError("you do not work this queue", queue=queue)
        queues = (queue,)
    return await views(request).review_queue.list_cases(
        states=states, max_priority=max_priority,
        available_to=actor.id if available else None, now=app.clock(),
        excluding_owner=await own_member_account(request, actor), cursor=cursor,
        limit=limit, queues=None if actor.role == Role.ADMIN and queue is None else queues)


async def evidence_of(request: Req, actor: Actor, case_id: UUID,
                      base: str = "/review/cases") -> list[EvidenceItemOut]:
    """What the reviewer can look at, and how it will first be shown to them (`base`: where
    the URLs point, the JSON API's or the console's)."""
    app = container(request).app

    def read() -> list[EvidenceItemOut]:
        case = app.case_for(actor, case_id)
        blur, grayscale = app.evidence_filter(actor, case)
        return [EvidenceItemOut(item=e.item, media_type=e.media_type,
                                url=f"{base}/{case_id}/evidence/{e.item}", blur=blur,
                                grayscale=grayscale)
                for e in app.evidence_items(case)]

    require(actor, *STAFF)
    return await sync_to_thread(read)


async def evidence_response(request: Req, actor: Actor, case_id: UUID, item: str,
                            unblurred: bool) -> Response[bytes]:
    """One item, filtered unless `unblurred`, after its view was recorded on the case."""
    require(actor, *STAFF)
    c = container(request)
    case = await sync_to_thread(c.app.case_for, actor, case_id)
    found = next((e for e in c.app.evidence_items(case) if e.item == item), None)
    if found is None or not await sync_to_thread(c.blobs.exists, found.digest):
        raise NotFoundError("no such evidence item on this case", item=item)
    await command(request, c.app.view_evidence, actor, case_id, item, unblurred)
    blur, grayscale = (False, False) if unblurred \
        else await sync_to_thread(c.app.evidence_filter, actor, case)
    shown = Shown(blur=blur, grayscale=grayscale)
    data = await sync_to_thread(c.blobs.get, found.digest)
    if found.media_type.startswith("image/"):
        body = await sync_to_thread(filtered_image, data, shown)
        media_type = "image/jpeg" if shown.filtered else found.media_type
    else:
        body = await sync_to_thread(filtered_video, data, shown)
        media_type = "video/mp4"
    return Response(body, media_type=media_type,
                    headers={"Cache-Control": "no-store, private",
                             "X-Evidence-Filter": f"blur={int(blur)};grayscale={int(grayscale)}"})


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
                         queue: QueueQuery = None, cursor: CursorQuery = None,
                         limit: Limit = 50) -> CasePage:
        """Most urgent first, oldest first within a priority, from the queues the caller
        works (or one of them). Cases about the caller's own content never appear."""
        rows, next_cursor = await list_for_staff(
            request, actor, states=tuple(states or WORK_STATES),
            max_priority=PRIORITIES[min_priority], available=available, queue=queue,
            cursor=cursor, limit=limit)
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

    @get("/{case_id:uuid}/evidence", operation_id="listCaseEvidence")
    async def evidence(self, request: Req, actor: ActorDep,
                       case_id: FromPath[UUID]) -> EvidenceOut:
        """The case's evidence frames and its video (held, or published), each with how it
        is first shown to the caller."""
        return EvidenceOut(items=await evidence_of(request, actor, case_id))

    @get("/{case_id:uuid}/evidence/{item:str}", operation_id="getCaseEvidence",
         media_type="application/octet-stream",
         responses={200: ResponseSpec(None, description="The image or video",
                                      media_type="application/octet-stream")})
    async def evidence_item(self, request: Req, actor: ActorDep, case_id: FromPath[UUID],
                            item: EvidenceItemName, unblurred: Unblurred = False
                            ) -> Response[bytes]:
        """One item (`frame:<n>` or `video`), blurred and in grayscale as the caller's
        filter says, or as it is with `unblurred=true`. Every fetch is recorded on the case
        (who, which item, filtered or not), and only staff who may work the case get it."""
        return await evidence_response(request, actor, case_id, item, unblurred)

    @post("/{case_id:uuid}/calibration", operation_id="markCalibrationItem",
          status_code=201)
    async def calibration(self, request: Req, actor: ActorDep, case_id: FromPath[UUID],
                          data: JSONBody[CalibrationIn],
                          idempotency_key: IdempotencyKey = None) -> CalibrationOut:
        """An admin makes a decided case a golden-set item: a copy served unmarked in the
        queue it was decided in; whoever decides it is compared with `decision` and
        `policy_code`, and the decision acts on nothing."""
        require(actor, Role.ADMIN)
        app = container(request).app
        result = await command(request, app.mark_calibration, actor, case_id, data.decision,
                               data.policy_code, key=idempotency_key)
        return CalibrationOut(case_id=result["case_id"])

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
        """Moves the case to its queue's senior queue (configured per queue), at the front.
        Only the claim's holder or an admin (a lead) may escalate a claimed case. A case
        that changes queue is released (the senior queue's staff claim it); one already in
        its senior queue keeps its holder unless `release` is true; a lead escalating
        someone else's claim releases it."""
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


class ReviewDeskController(AuthenticatedController):
    path = "/review"
    tags = ["review"]

    @get("/statistics", operation_id="getReviewStatistics")
    async def statistics(self, request: Req, actor: ActorDep) -> StatisticsOut:
        """Per queue and per reviewer: pending, oldest, decided, average handle time,
        action rate, appealed, overturned on appeal, and calibration agreement."""
        require(actor, Role.ADMIN)
        stats = await views(request).review_queue.statistics(container(request).app.clock())
        return msgspec.convert(stats, StatisticsOut)

    @get("/calibration", operation_id="listCalibrationItems")
    async def calibration_items(self, request: Req, actor: ActorDep) -> CalibrationPage:
        """The golden-set items, with who decided each and whether they agreed."""
        require(actor, Role.ADMIN)
        rows = await views(request).review_queue.calibration_items()
        return CalibrationPage(items=[CalibrationItemOut.of(r) for r in rows])

    @put("/me/wellness/{label:str}", operation_id="setOwnWellnessFilter", status_code=200)
    async def wellness(self, request: Req, actor: ActorDep, label: LabelName,
                       data: JSONBody[WellnessIn],
                       idempotency_key: IdempotencyKey = None) -> Ack:
        """How evidence of a content label is first shown to the caller (null for both:
        the organisation's default again)."""
        require(actor, *STAFF)
        if (data.blur is None) != (data.grayscale is None):
            raise ValidationError("set both blur and grayscale, or neither")
        await command(request, container(request).app.override_wellness, actor, label,
                      data.blur, data.grayscale, key=idempotency_key)
        return Ack(status="default" if data.blur is None else "set")


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

