"""Retroactive scans (domain/retroactive.py): a work's (or a member's) match policy, its
scans' progress and what they found; admins run the pending scans now (the server runs them
every 30 s)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec
from litestar import get, post, put
from litestar.concurrency import sync_to_thread
from litestar.params import FromPath, JSONBody

from api.deps import (
    ActorDep,
    AuthenticatedController,
    IdempotencyKey,
    Req,
    command,
    container,
    require,
)
from domain.actors import Role


class MatchPolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    """`block`: a video found using the work after the fact is taken down; `review`: a
    case; `track`: listed on the scan, nothing taken down."""

    policy: Literal["block", "review", "track"]


class MatchPolicyOut(msgspec.Struct):
    policy: str


class RetroMatchOut(msgspec.Struct):
    generation_id: str
    method: str  # alias | fuzzy (the prompt) | frames | face (a person's)
    decision: str  # match | review
    action: str  # block | review | track


class RetroScanOut(msgspec.Struct):
    """A scan's progress: `checked` of `total` published videos (as counted when it
    started), what it matched and did; `finished` once every video was checked.
    `unchecked`: videos among those checked that could not be compared (a person's or a
    likeness work's scan: the video's scan kept no face templates, or templates of another
    face model; or the person was erased while it ran)."""

    id: str
    subject_kind: Literal["work", "person"]
    trigger: str  # registered | reference:<digest> (a work) | verified:<n> (a person)
    total: int
    checked: int
    finished: bool
    matched: int
    blocked: int
    reviewed: int
    tracked: int
    unchecked: int
    matches: list[RetroMatchOut]
    work_id: str | None = None  # a work's scan


class RetroScansOut(msgspec.Struct):
    items: list[RetroScanOut]


class PersonScansOut(msgspec.Struct):
    """The member's match policy and the scans their verifications started."""

    match_policy: str
    items: list[RetroScanOut]


class RetroactiveController(AuthenticatedController):
    path = "/works"
    tags = ["works"]

    @put("/{work_id:uuid}/match-policy", operation_id="setMatchPolicy", status_code=200)
    async def policy(self, request: Req, actor: ActorDep, work_id: FromPath[UUID],
                     data: JSONBody[MatchPolicyIn],
                     idempotency_key: IdempotencyKey = None) -> MatchPolicyOut:
        """What a match found after the fact does (default `review`)."""
        require(actor, Role.RIGHTS_HOLDER)
        app = container(request).app
        return MatchPolicyOut(await command(request, app.set_match_policy, actor, work_id,
                                            data.policy, key=idempotency_key))

    @get("/{work_id:uuid}/retroactive-scans", operation_id="listRetroactiveScans")
    async def scans(self, request: Req, actor: ActorDep, work_id: FromPath[UUID]
                    ) -> RetroScansOut:
        """The scans of the videos published before the work (or a reference) was added."""
        require(actor, Role.RIGHTS_HOLDER, Role.ADMIN)
        app = container(request).app
        found = await sync_to_thread(app.retroactive_scans, actor, work_id)
        return RetroScansOut(msgspec.convert(found, list[RetroScanOut]))


class PersonRetroactiveController(AuthenticatedController):
    path = "/identity"
    tags = ["identity"]

    @put("/match-policy", operation_id="setPersonMatchPolicy", status_code=200)
    async def policy(self, request: Req, actor: ActorDep, data: JSONBody[MatchPolicyIn],
                     idempotency_key: IdempotencyKey = None) -> MatchPolicyOut:
        """What a video published before you verified, found showing your face, does
        (default `review`); a video you made or that features your cameo is never
        matched."""
        require(actor, Role.MEMBER)
        app = container(request).app
        return MatchPolicyOut(await command(request, app.set_person_match_policy, actor,
                                            data.policy, key=idempotency_key))

    @get("/retroactive-scans", operation_id="listPersonRetroactiveScans")
    async def scans(self, request: Req, actor: ActorDep) -> PersonScansOut:
        """The scans of the videos published before you verified, against your face."""
        require(actor, Role.MEMBER)
        found = await sync_to_thread(container(request).app.person_retroactive_scans, actor)
        return msgspec.convert(found, PersonScansOut)


class RetroactiveAdminController(AuthenticatedController):
    path = "/admin/retroactive-scans"
    tags = ["admin", "works"]

    @post("/run", operation_id="runRetroactiveScans", status_code=200)
    async def run(self, request: Req, actor: ActorDep,
                  idempotency_key: IdempotencyKey = None) -> RetroScansOut:
        """Starts the scans new works and references call for and runs the unfinished
        ones to their end now. Running again resumes or finds nothing to do, so an
        Idempotency-Key is accepted and has nothing to do."""
        require(actor, Role.ADMIN)
        app = container(request).app
        found = await command(request, app.run_retroactive_scans, actor)
        return RetroScansOut(msgspec.convert(found, list[RetroScanOut]))
