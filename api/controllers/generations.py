"""Generation requests (the pre-gate runs inside the request), their status, the caller's
own list, and deletion."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Response, delete, get, post
from litestar.concurrency import sync_to_thread
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from api.controllers.identity import CursorQuery, Limit
from api.deps import (
    WITHDRAWAL,
    ActorDep,
    AuthenticatedController,
    IdempotencyKey,
    Req,
    command,
    container,
    delete_with_files,
    parse_uuid,
    require,
    views,
)
from api.errors import problem
from api.schemas.common import Ack, Problem
from api.schemas.generations import GenerationIn, GenerationOut, GenerationPage, RequestedOut
from domain.actors import Role
from domain.errors import NotFoundError
from domain.gate.decision import redact
from domain.generation import Generation, State, in_feed
from projections.generation_status import GenerationRow


def can_see(actor: ActorDep, row: GenerationRow) -> bool:
    """Drafts: their author and the people in them; published videos: every member; staff
    see everything."""
    if actor.role in (Role.ADMIN, Role.REVIEWER, Role.WORKER):
        return True
    if actor.role != Role.MEMBER:
        return False
    me = UUID(actor.id)
    if me == row.requester_id or row.features(me):
        return True
    return in_feed(State(row.state), row.restricted)


class GenerationController(AuthenticatedController):
    path = "/generations"
    tags = ["generations"]

    @post("/", operation_id="requestGeneration", status_code=201, responses={
        202: ResponseSpec(RequestedOut, description="held for a person's review"),
        403: ResponseSpec(Problem, description="denied by the gate: `rule_codes` and the "
                          "redacted decision trace", media_type="application/problem+json"),
    })
    async def request_generation(self, request: Req, actor: ActorDep,
                                 data: JSONBody[GenerationIn],
                                 idempotency_key: IdempotencyKey = None) -> Response[Any]:
        """Runs the pre-generation gate on current consent. Allowed requests are queued for
        the generator; `review` ones wait for a person; denied ones answer 403."""
        require(actor, Role.MEMBER)
        request.app.state["rate_limits"].check("generation", actor)
        app = container(request).app
        owners = tuple(parse_uuid(o, "cameo_owner_ids") for o in data.cameo_owner_ids)
        remix = parse_uuid(data.remix_of, "remix_of") if data.remix_of else None
        result = await command(request, app.request_generation, actor, data.prompt, owners,
                               data.seconds, data.params, remix, key=idempotency_key)
        if result["outcome"] == "deny":
            row = await views(request).generation_status.get(UUID(result["generation_id"]))
            return problem(403, "generation-denied", "Generation denied",
                           "the pre-generation gate denied this request: "
                           + ", ".join(result["rule_codes"]),
                           generation_id=result["generation_id"],
                           rule_codes=result["rule_codes"],
                           trace=redact(row.trace) if row else [])
        status = 201 if result["outcome"] == "allow" else 202
        return Response(RequestedOut(generation_id=result["generation_id"],
                                     outcome=result["outcome"],
                                     rule_codes=list(result["rule_codes"])),
                        status_code=status)

    @get("/mine", operation_id="listMyGenerations", opt=WITHDRAWAL)
    async def mine(self, request: Req, actor: ActorDep,
                   cursor: CursorQuery = None, limit: Limit = 50) -> GenerationPage:
        """The caller's generations, newest first, drafts included."""
        require(actor, Role.MEMBER)
        rows, next_cursor = await views(request).generation_status.list_by_requester(
            UUID(actor.id), cursor, limit)
        return GenerationPage(items=[GenerationOut.of(r) for r in rows],
                              next_cursor=next_cursor)

    @get("/{generation_id:uuid}", operation_id="getGeneration", opt=WITHDRAWAL)
    async def get_generation(self, request: Req, actor: ActorDep,
                             generation_id: FromPath[UUID]) -> GenerationOut:
        """Status and decision trace (redacted for members; complete for staff)."""
        row = await views(request).generation_status.get(generation_id)
        if row is None or not can_see(actor, row):
            raise NotFoundError("Generation not found", id=str(generation_id))
        out = GenerationOut.of(row, full_trace=actor.role in (Role.ADMIN, Role.REVIEWER))
        mine = actor.role == Role.MEMBER and (UUID(actor.id) == row.requester_id
                                              or row.features(UUID(actor.id)))
        if actor.role == Role.MEMBER and not mine:
            out.trace, out.rule_codes = [], []
        return out

    @get("/{generation_id:uuid}/video", operation_id="getGenerationVideo",
         media_type="video/mp4", responses={
             200: ResponseSpec(bytes, description="the published MP4: watermarked, with its "
                               "signed C2PA manifest", media_type="video/mp4")})
    async def video(self, request: Req, actor: ActorDep,
                    generation_id: FromPath[UUID]) -> Response[bytes]:
        """The published file, to those who may see the generation. Only the watermarked
        and signed file is ever served; a taken-down video only to staff."""
        row = await views(request).generation_status.get(generation_id)
        if row is None or not can_see(actor, row):
            raise NotFoundError("Generation not found", id=str(generation_id))
        c = container(request)
        generation = await sync_to_thread(c.app.get, Generation, generation_id)
        staff = actor.role in (Role.ADMIN, Role.REVIEWER)
        if not generation.published_digest or generation.state == State.DELETED \
                or not (staff or generation.state == State.PUBLISHED):
            raise NotFoundError("This generation has no published video", id=str(generation_id))
        data = await sync_to_thread(c.blobs.get, generation.published_digest)
        return Response(data, media_type="video/mp4",
                        headers={"Cache-Control": "private, max-age=60",
                                 "ETag": f'"{generation.published_digest}"'})

    @delete("/{generation_id:uuid}", operation_id="deleteGeneration", opt=WITHDRAWAL,
            status_code=200)
    async def delete_generation(self, request: Req, actor: ActorDep,
                                generation_id: FromPath[UUID]) -> Ack:
        """By its author, by a person featured in it, or by an admin."""
        return Ack(await delete_with_files(request, actor, generation_id))
