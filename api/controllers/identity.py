"""A member's cameo (likeness consent) and identity verification."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import delete, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.media_intake import VERIFICATION_LIMITS
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
from api.schemas.common import Ack
from api.schemas.consent import (
    CameoOut,
    ChallengeOut,
    EnableIn,
    IdentityOut,
    PermissionIn,
    PersonIn,
    RestrictionsIn,
)
from api.schemas.generations import GenerationOut, GenerationPage
from api.uploads import received
from domain.actors import Role
from domain.cameo import Cameo
from domain.errors import UnsupportedMediaTypeError
from domain.identity import Identity
from domain.ids import cameo_id, identity_id
from domain.services.face_enrolment import erase_identity
from domain.services.verification import submit_verification_video
from domain.verification import video_media_type

MAX_VERIFICATION_BYTES = 50 * 1024 * 1024
Limit = Annotated[int, QueryParameter(name="limit", ge=1, le=200)]
CursorQuery = Annotated[str | None, QueryParameter(name="cursor", required=False,
                                                   max_length=400)]



class CameoController(AuthenticatedController):
    path = "/cameo"
    tags = ["cameo"]

    @get("/", operation_id="getCameo", opt=WITHDRAWAL, sync_to_thread=True)
    def get_cameo(self, request: Req, actor: ActorDep) -> CameoOut:
        """The caller's own cameo settings."""
        require(actor, Role.MEMBER)
        cameo = container(request).app.find(Cameo, cameo_id(UUID(actor.id)))
        if cameo is None:
            return CameoOut(owner_id=actor.id, enabled=False, permission="only_me",
                            approved=[], blocked=[], forbidden_categories=[], instructions="")
        return CameoOut(owner_id=actor.id, enabled=cameo.enabled, permission=cameo.permission,
                        approved=sorted(map(str, cameo.approved)),
                        blocked=sorted(map(str, cameo.blocked)),
                        forbidden_categories=list(cameo.forbidden_categories),
                        instructions=cameo.instructions)

    @post("/enable", operation_id="enableCameo", status_code=200)
    async def enable(self, request: Req, actor: ActorDep, data: JSONBody[EnableIn],
                     idempotency_key: IdempotencyKey = None) -> Ack:
        app = container(request).app
        return Ack(await command(request, app.enable_cameo, actor, data.permission,
                                 key=idempotency_key))

    @post("/disable", operation_id="disableCameo", opt=WITHDRAWAL, status_code=200)
    async def disable(self, request: Req, actor: ActorDep,
                      idempotency_key: IdempotencyKey = None) -> Ack:
        """Revokes the likeness consent: every video featuring the caller is taken down."""
        app = container(request).app
        return Ack(await command(request, app.disable_cameo, actor, key=idempotency_key))

    @post("/permission", operation_id="changeCameoPermission", status_code=200)
    async def permission(self, request: Req, actor: ActorDep, data: JSONBody[PermissionIn],
                         idempotency_key: IdempotencyKey = None) -> Ack:
        app = container(request).app
        return Ack(await command(request, app.change_cameo_permission, actor,
                                 data.permission, key=idempotency_key))

    @post("/approvals", operation_id="approvePerson", status_code=200)
    async def approve(self, request: Req, actor: ActorDep, data: JSONBody[PersonIn],
                      idempotency_key: IdempotencyKey = None) -> Ack:
        app = container(request).app
        return Ack(await command(request, app.approve_person, actor,
                                 parse_uuid(data.member_id, "member_id"), key=idempotency_key))

    @delete("/approvals/{member_id:uuid}", operation_id="withdrawApproval", opt=WITHDRAWAL,
            status_code=200)
    async def withdraw(self, request: Req, actor: ActorDep,
                       member_id: FromPath[UUID]) -> Ack:
        app = container(request).app
        return Ack(await command(request, app.withdraw_approval, actor, member_id))

    @post("/blocks", operation_id="blockPerson", opt=WITHDRAWAL, status_code=200)
    async def block(self, request: Req, actor: ActorDep, data: JSONBody[PersonIn],
                    idempotency_key: IdempotencyKey = None) -> Ack:
        app = container(request).app
        return Ack(await command(request, app.block_person, actor,
                                 parse_uuid(data.member_id, "member_id"), key=idempotency_key))

    @delete("/blocks/{member_id:uuid}", operation_id="unblockPerson", status_code=200)
    async def unblock(self, request: Req, actor: ActorDep,
                      member_id: FromPath[UUID]) -> Ack:
        app = container(request).app
        return Ack(await command(request, app.unblock_person, actor, member_id))

    @post("/restrictions", operation_id="setCameoRestrictions", status_code=200)
    async def restrictions(self, request: Req, actor: ActorDep, data: JSONBody[RestrictionsIn],
                           idempotency_key: IdempotencyKey = None) -> Ack:
        app = container(request).app
        return Ack(await command(request, app.set_cameo_restrictions, actor,
                                 tuple(data.forbidden_categories), data.instructions,
                                 key=idempotency_key))

    @get("/appearances", operation_id="listAppearances", opt=WITHDRAWAL)
    async def appearances(self, request: Req, actor: ActorDep,
                          cursor: CursorQuery = None, limit: Limit = 50) -> GenerationPage:
        """Every generation featuring the caller, drafts included, newest first."""
        require(actor, Role.MEMBER)
        v = views(request)
        ids, next_cursor = await v.appearances.featuring(UUID(actor.id), cursor, limit)
        rows = await v.generation_status.get_many(ids)
        return GenerationPage(items=[GenerationOut.of(rows[i]) for i in ids if i in rows],
                              next_cursor=next_cursor)

    @delete("/appearances/{generation_id:uuid}", operation_id="removeAppearance", opt=WITHDRAWAL,
            status_code=200)
    async def remove(self, request: Req, actor: ActorDep,
                     generation_id: FromPath[UUID]) -> Ack:
        """Deletes a video that features the caller, whoever made it."""
        return Ack(await delete_with_files(request, actor, generation_id))


class IdentityController(AuthenticatedController):
    path = "/identity"
    tags = ["identity"]

    @get("/", operation_id="getIdentity", opt=WITHDRAWAL, sync_to_thread=True)
    def get_identity(self, request: Req, actor: ActorDep) -> IdentityOut:
        require(actor, Role.MEMBER)
        identity = container(request).app.find(Identity, identity_id(UUID(actor.id)))
        if identity is None:
            return IdentityOut(status="new", verified=False, model_id="", failure_reasons=[])
        return IdentityOut(status=identity.status, verified=identity.verified,
                           model_id=identity.model_id,
                           failure_reasons=list(identity.failure_reasons))

    @post("/verifications", operation_id="startVerification", status_code=201)
    async def start(self, request: Req, actor: ActorDep,
                    idempotency_key: IdempotencyKey = None) -> ChallengeOut:
        """A liveness challenge: read the digits aloud and turn your head as asked, on video."""
        request.app.state["rate_limits"].check("verification", actor)
        app = container(request).app
        c = await command(request, app.start_verification, actor, key=idempotency_key)
        return ChallengeOut(nonce=c["nonce"], digits=c["digits"], directions=c["directions"],
                            expires_at=c["expires_at"],
                            upload_to=f"/identity/verifications/{c['nonce']}/video")

    @post("/verifications/{nonce:str}/video", operation_id="submitVerificationVideo",
          status_code=202, request_max_body_size=MAX_VERIFICATION_BYTES)
    async def submit(self, request: Req, actor: ActorDep, nonce: FromPath[str],
                     idempotency_key: IdempotencyKey = None) -> IdentityOut:
        """The challenge video (MP4 or WebM body), never seen before. The checks run in the
        worker; the verification's status says when they are done. The video is deleted
        once the verification is decided."""
        c = container(request)
        # Nothing is stored for a challenge that cannot take it, nor for a video that does
        # not pass the intake (decoded in its sandbox under the verification limits).
        await sync_to_thread(c.app.check_verification_challenge, actor, nonce)
        async with c.media_intake.admitted(), \
                received(request, MAX_VERIFICATION_BYTES) as upload:
            body = upload.read()
            media_type = video_media_type(body)
            if media_type is None:
                raise UnsupportedMediaTypeError("the body is not an MP4 or WebM video")
            await c.media_intake.sample(upload.path, media_type, VERIFICATION_LIMITS,
                                        digest=upload.digest)
        status = await command(request, submit_verification_video, c.app, c.blobs, actor,
                               nonce, body, key=idempotency_key)
        return IdentityOut(status=status, verified=False, model_id="", failure_reasons=[])

    @delete("/", operation_id="eraseIdentity", opt=WITHDRAWAL, status_code=200)
    async def erase(self, request: Req, actor: ActorDep) -> Ack:
        """Erases the caller's biometric identity: the data key of the face template and
        reference face is destroyed (crypto-shredding), and the face leaves every index."""
        c = container(request)
        return Ack(await command(request, erase_identity, c.app, c.face_index, actor,
                                 UUID(actor.id)))
