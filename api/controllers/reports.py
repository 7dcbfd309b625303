"""Reports: a member flags a published video; the report opens a review case or joins the
open one."""

from __future__ import annotations

from uuid import UUID

from litestar import post
from litestar.params import FromPath, JSONBody

from api.controllers.generations import can_see
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
from api.schemas.review import ReportedOut, ReportIn
from domain.actors import Role
from domain.errors import NotFoundError


class ReportController(AuthenticatedController):
    path = "/generations"
    tags = ["reports"]

    @post("/{generation_id:uuid}/reports", operation_id="reportGeneration", status_code=201)
    async def report(self, request: Req, actor: ActorDep, generation_id: FromPath[UUID],
                     data: JSONBody[ReportIn],
                     idempotency_key: IdempotencyKey = None) -> ReportedOut:
        """Reports a published video (category and free text). Urgent categories (minors,
        self-harm) open an urgent case."""
        require(actor, Role.MEMBER)
        row = await views(request).generation_status.get(generation_id)
        if row is None or not can_see(actor, row):
            raise NotFoundError("Generation not found", id=str(generation_id))
        app = container(request).app
        result = await command(request, app.file_report, actor, generation_id, data.category,
                               data.text, key=idempotency_key)
        return ReportedOut(report_id=result["report_id"], case_id=result["case_id"])
