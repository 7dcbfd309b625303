"""The consent API for rights holders: onboarding and keys, works and their reference media,
grants, and where each work was used. A rights holder only ever sees its own works and
grants; another organisation's answer 404, so their existence does not leak."""

from __future__ import annotations

from uuid import UUID

from litestar import delete, get, post
from litestar.concurrency import sync_to_thread
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from adapters.media_intake import REFERENCE_LIMITS
from adapters.reference_media import index_reference
from api.controllers.identity import CursorQuery, Limit
from api.deps import (
    ActorDep,
    AuthenticatedController,
    IdempotencyKey,
    Req,
    command,
    container,
    parse_uuid,
    require,
    views,
)
from api.schemas.common import Ack, Problem
from api.schemas.rights import (
    GrantIn,
    GrantList,
    GrantOut,
    IssuedKeyOut,
    KeyIn,
    KeyOut,
    OnboardedOut,
    OnboardIn,
    ReasonIn,
    ReferenceOut,
    RightsHolderOut,
    RightsHolderPage,
    RightsHolderSummaryOut,
    UsageOut,
    UsagePage,
    WorkIn,
    WorkOut,
    WorkPage,
    WorkSummaryOut,
)
from api.uploads import received
from domain.actors import Role
from domain.errors import UnsupportedMediaTypeError, ValidationError
from domain.grant import Grant, GrantTerms
from domain.rights_holder import RightsHolder

MAX_REFERENCE_BYTES = 64 * 1024 * 1024


def _is_mp4(body: bytes) -> bool:
    return body[4:8] == b"ftyp"


def _is_quicktime(body: bytes) -> bool:
    return body[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")


# Accepted reference media, each with a check of the body's leading bytes: the declared
# type alone is the client's word, and the visual matcher will decode these files.
REFERENCE_TYPES = {
    "image/png": lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda b: b.startswith(b"\xff\xd8\xff"),
    "image/webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
    "image/gif": lambda b: b[:6] in (b"GIF87a", b"GIF89a"),
    "video/mp4": _is_mp4,
    "video/quicktime": _is_quicktime,
    "video/webm": lambda b: b.startswith(b"\x1a\x45\xdf\xa3"),
}


def reference_media_type(content_type: str) -> str:
    """The declared media type if it is allowed (checked before the body is read)."""
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type not in REFERENCE_TYPES:
        raise UnsupportedMediaTypeError("reference media must be one of these types",
                                        allowed=sorted(REFERENCE_TYPES))
    return media_type


def check_reference_body(media_type: str, body: bytes) -> None:
    if not body:
        raise ValidationError("send the image or clip as the request body")
    if not REFERENCE_TYPES[media_type](body):
        raise UnsupportedMediaTypeError(f"the body is not {media_type} content")



def _reason(data: ReasonIn | None) -> str:
    return data.reason if data else ""


def _terms(data: GrantIn) -> GrantTerms:
    return GrantTerms(audience=data.audience,
                      members=tuple(parse_uuid(m, "members") for m in dict.fromkeys(data.members)),
                      tiers=tuple(dict.fromkeys(data.tiers)),
                      uses=tuple(dict.fromkeys(data.uses)),
                      forbidden_categories=tuple(dict.fromkeys(data.forbidden_categories)),
                      attribution_required=data.attribution_required,
                      valid_from=data.valid_from, valid_until=data.valid_until)


class RightsHolderController(AuthenticatedController):
    path = "/rights-holders"
    tags = ["rights holders"]

    @post("/", operation_id="onboardRightsHolder", status_code=201)
    async def onboard(self, request: Req, actor: ActorDep, data: JSONBody[OnboardIn],
                      idempotency_key: IdempotencyKey = None) -> OnboardedOut:
        """Admins only. The response holds the organisation's first key, shown once."""
        require(actor, Role.ADMIN)
        app = container(request).app
        result = await command(request, app.onboard_rights_holder, actor, data.name,
                               data.proof, key=idempotency_key)
        secret = result.get("secret")
        return OnboardedOut(id=result["rights_holder_id"],
                            key_id=secret.split(".")[2] if secret else None, secret=secret,
                            secret_redacted=result.get("secret_redacted", False))

    @get("/", operation_id="listRightsHolders")
    async def list_holders(self, request: Req, actor: ActorDep, cursor: CursorQuery = None,
                           limit: Limit = 50) -> RightsHolderPage:
        """Admins only: every rights holder, newest first, with how many works each holds."""
        require(actor, Role.ADMIN)
        rows, next_cursor = await views(request).works.rights_holders(cursor, limit)
        return RightsHolderPage(items=[RightsHolderSummaryOut.of(r) for r in rows],
                                next_cursor=next_cursor)

    @get("/me", operation_id="getMyRightsHolder", sync_to_thread=True)
    def me(self, request: Req, actor: ActorDep) -> RightsHolderOut:
        """The caller's organisation and its active keys (ids and labels, never secrets),
        read from the aggregate."""
        require(actor, Role.RIGHTS_HOLDER)
        holder = container(request).app.get(RightsHolder, UUID(actor.id))
        return RightsHolderOut(id=str(holder.id), name=holder.name, proof=holder.proof,
                               onboarded_at=holder.created_on,
                               keys=[KeyOut(key_id=k, label=holder.key_labels.get(k, ""))
                                     for k in holder.keys])

    @post("/me/keys", operation_id="issueRightsHolderKey", status_code=201)
    async def issue_key(self, request: Req, actor: ActorDep, data: JSONBody[KeyIn],
                        idempotency_key: IdempotencyKey = None) -> IssuedKeyOut:
        """Another key for the organisation (one per system or team), shown once."""
        require(actor, Role.RIGHTS_HOLDER)
        app = container(request).app
        result = await command(request, app.issue_key, actor, UUID(actor.id), data.label,
                               key=idempotency_key)
        return IssuedKeyOut(key_id=result.get("key_id"), secret=result.get("secret"),
                            secret_redacted=result.get("secret_redacted", False))

    @delete("/me/keys/{key_id:str}", operation_id="revokeRightsHolderKey", status_code=200)
    async def revoke_key(self, request: Req, actor: ActorDep, key_id: FromPath[str]) -> Ack:
        """Stops the key working at once (the next request with it is refused)."""
        require(actor, Role.RIGHTS_HOLDER)
        app = container(request).app
        await command(request, app.revoke_key, actor, UUID(actor.id), key_id)
        return Ack(status="revoked")


class WorkController(AuthenticatedController):
    path = "/works"
    tags = ["works"]

    @post("/", operation_id="registerWork", status_code=201, responses={
        422: ResponseSpec(Problem, media_type="application/problem+json", description=(
            "`alias-too-generic`: the title or an alias is one everyday word (fillers such "
            "as \"the\" aside) or too short; `refusals` lists each with its `kind` "
            "(`common_word` or `too_short`) and `reason`. Nothing is registered.")),
    })
    async def register(self, request: Req, actor: ActorDep, data: JSONBody[WorkIn],
                       idempotency_key: IdempotencyKey = None) -> WorkOut:
        """A protected character, brand, artwork, voice or public figure's likeness. Its
        title and aliases are recognised in prompts at once (case, spacing, accents,
        doubled letters and letter/digit swaps folded away); without a grant, prompts
        naming it are denied. So that everyday prompts are not blocked, a title or alias
        that is a single everyday word ("Max", "Ace", "Star": common in English text, by
        word frequency) or has fewer than three letters is refused with
        `alias-too-generic` and the reason for each; the same word with context words
        ("Max the Mammoth") is accepted. Famous short names ("Mario") need context too:
        frequency cannot tell them from ordinary words. Videos published before it are
        checked against it (`/works/{id}/retroactive-scans`); `match_policy` says what a
        match does."""
        require(actor, Role.RIGHTS_HOLDER)
        app = container(request).app
        likeness = parse_uuid(data.likeness_member_id, "likeness_member_id") \
            if data.likeness_member_id else None
        work_id = await command(request, app.register_work, actor, data.title, data.kind,
                                tuple(data.aliases), data.description, likeness,
                                data.match_policy, key=idempotency_key)
        return WorkOut.of(await sync_to_thread(app.own_work, actor, UUID(work_id)))

    @get("/", operation_id="listMyWorks")
    async def mine(self, request: Req, actor: ActorDep, cursor: CursorQuery = None,
                   limit: Limit = 50) -> WorkPage:
        """The caller's works, newest first."""
        require(actor, Role.RIGHTS_HOLDER)
        rows, next_cursor = await views(request).works.works_of(UUID(actor.id), cursor, limit)
        return WorkPage(items=[WorkSummaryOut.of(r) for r in rows], next_cursor=next_cursor)

    @get("/{work_id:uuid}", operation_id="getWork", sync_to_thread=True)
    def get_work(self, request: Req, actor: ActorDep, work_id: FromPath[UUID]) -> WorkOut:
        """One work with its references and grants, read from the aggregate."""
        require(actor, Role.RIGHTS_HOLDER, Role.ADMIN)
        return WorkOut.of(container(request).app.own_work(actor, work_id))

    @post("/{work_id:uuid}/withdraw", operation_id="withdrawWork", status_code=200)
    async def withdraw(self, request: Req, actor: ActorDep, work_id: FromPath[UUID],
                       data: JSONBody[ReasonIn | None] = None,
                       idempotency_key: IdempotencyKey = None
                       ) -> WorkOut:
        """Final: prompts naming the work are denied from now on, and every video that used
        it is taken down."""
        require(actor, Role.RIGHTS_HOLDER, Role.ADMIN)
        app = container(request).app
        await command(request, app.withdraw_work, actor, work_id, _reason(data),
                      key=idempotency_key)
        return WorkOut.of(await sync_to_thread(app.own_work, actor, work_id))

    @post("/{work_id:uuid}/references", operation_id="addWorkReference", status_code=201,
          request_max_body_size=MAX_REFERENCE_BYTES)
    async def add_reference(self, request: Req, actor: ActorDep, work_id: FromPath[UUID],
                            idempotency_key: IdempotencyKey = None) -> ReferenceOut:
        """A reference image or clip as the raw request body (PNG, JPEG, WebP, GIF, MP4,
        QuickTime or WebM; up to 64 MiB; Content-Type must say which). It is stored by
        content digest, hashed (PDQ of the picture, its mirror image and centre, or of a
        clip's frames) and, when an embedding model is configured, embedded; generated
        videos are matched against it from then on (WORK-VISUAL). For a public figure's
        likeness work, the largest face in it is enrolled in the 1:N face index, so a video
        showing that face without their cameo or a grant is rejected (FACE-NOT-OTHERS).
        Media that does not decode answers 422 `unreadable-media`; a picture too plain to
        hash is kept but reported `too-plain`."""
        require(actor, Role.RIGHTS_HOLDER)
        c = container(request)
        work = await sync_to_thread(c.app.own_work, actor, work_id)  # 404 before storing
        media_type = reference_media_type(request.headers.get("content-type", ""))
        async with c.media_intake.admitted(), \
                received(request, MAX_REFERENCE_BYTES) as upload:
            body = upload.read()
            check_reference_body(media_type, body)
            if media_type.startswith("video/"):  # decoded in the intake's sandbox first
                await c.media_intake.sample(upload.path, media_type, REFERENCE_LIMITS,
                                            digest=upload.digest)
        indexed = await sync_to_thread(index_reference, c, work, body, media_type)
        digest = await sync_to_thread(c.blobs.put, body, media_type)
        await command(request, c.app.add_work_reference, actor, work_id, digest, media_type,
                      indexed.hashes, indexed.embedding_ref, indexed.face_template,
                      indexed.face_model_id, key=idempotency_key)
        return ReferenceOut.of(digest, {"media_type": media_type, "hashes": indexed.hashes,
                                        "embedding_ref": indexed.embedding_ref,
                                        "face_enrolled": bool(indexed.face_template)})

    @post("/{work_id:uuid}/grants", operation_id="issueGrant", status_code=201)
    async def issue_grant(self, request: Req, actor: ActorDep, work_id: FromPath[UUID],
                          data: JSONBody[GrantIn], idempotency_key: IdempotencyKey = None
                          ) -> GrantOut:
        """An opt-in licence: who may use the work (everyone, named members or tiers), for
        what (generate, remix), avoiding which content, and when."""
        require(actor, Role.RIGHTS_HOLDER)
        app = container(request).app
        grant_id = await command(request, app.issue_grant, actor, work_id, _terms(data),
                                 key=idempotency_key)
        grant = await sync_to_thread(app.own_grant, actor, UUID(grant_id))
        return GrantOut.of(grant, app.clock())

    @get("/{work_id:uuid}/grants", operation_id="listWorkGrants", sync_to_thread=True)
    def grants(self, request: Req, actor: ActorDep, work_id: FromPath[UUID]) -> GrantList:
        """Every grant ever issued for the work, oldest first, ended ones included."""
        require(actor, Role.RIGHTS_HOLDER, Role.ADMIN)
        app = container(request).app
        work, now = app.own_work(actor, work_id), app.clock()
        return GrantList(items=[GrantOut.of(app.get(Grant, g), now) for g in work.grant_ids])

    @get("/{work_id:uuid}/usage", operation_id="listWorkUsage")
    async def usage(self, request: Req, actor: ActorDep, work_id: FromPath[UUID],
                    cursor: CursorQuery = None, limit: Limit = 50) -> UsagePage:
        """Generations that used the work (named in the prompt, or remixes of such videos),
        newest first, each in its current state: published, taken down, and so on."""
        require(actor, Role.RIGHTS_HOLDER, Role.ADMIN)
        await sync_to_thread(container(request).app.own_work, actor, work_id)
        v = views(request)
        used, next_cursor = await v.work_usage.used_by(work_id, cursor, limit)
        rows = await v.generation_status.get_many([u.generation_id for u in used])
        return UsagePage(items=[UsageOut.of(u, rows[u.generation_id]) for u in used
                                if u.generation_id in rows], next_cursor=next_cursor)


class GrantController(AuthenticatedController):
    path = "/grants"
    tags = ["grants"]

    @get("/{grant_id:uuid}", operation_id="getGrant", sync_to_thread=True)
    def get_grant(self, request: Req, actor: ActorDep, grant_id: FromPath[UUID]) -> GrantOut:
        require(actor, Role.RIGHTS_HOLDER, Role.ADMIN)
        app = container(request).app
        return GrantOut.of(app.own_grant(actor, grant_id), app.clock())

    @post("/{grant_id:uuid}/amend", operation_id="amendGrant", status_code=200)
    async def amend(self, request: Req, actor: ActorDep, grant_id: FromPath[UUID],
                    data: JSONBody[GrantIn], idempotency_key: IdempotencyKey = None
                    ) -> GrantOut:
        """Replaces the terms. Narrowing them takes down the videos they no longer cover."""
        require(actor, Role.RIGHTS_HOLDER)
        app = container(request).app
        await command(request, app.amend_grant, actor, grant_id, _terms(data),
                      key=idempotency_key)
        return GrantOut.of(await sync_to_thread(app.own_grant, actor, grant_id), app.clock())

    @post("/{grant_id:uuid}/revoke", operation_id="revokeGrant", status_code=200)
    async def revoke(self, request: Req, actor: ActorDep, grant_id: FromPath[UUID],
                     data: JSONBody[ReasonIn | None] = None,
                     idempotency_key: IdempotencyKey = None
                     ) -> GrantOut:
        """Final: the grant stops covering new requests at once, and every video that
        relied on it is taken down."""
        require(actor, Role.RIGHTS_HOLDER, Role.ADMIN)
        app = container(request).app
        await command(request, app.revoke_grant, actor, grant_id, _reason(data),
                      key=idempotency_key)
        return GrantOut.of(await sync_to_thread(app.own_grant, actor, grant_id), app.clock())
