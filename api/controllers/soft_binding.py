"""The C2PA Soft Binding Resolution API (C2PA 2.2, "C2PA Soft Binding API", version 1.0.0 of
its OpenAPI description): resolves our watermark's soft binding, or a video carrying it, to
the generation's signed manifest. Public, like POST /provenance; base URL /c2pa/v1."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.c2pa_signing import generation_of, manifest_label
from adapters.provenance_lookup import MAX_BYTES
from api.controllers.provenance import body_of, look_up, manifests
from api.deps import IdempotencyKey, Req, views
from api.schemas.soft_binding import (
    SoftBindingAlgList,
    SoftBindingAlgorithm,
    SoftBindingMatch,
    SoftBindingQuery,
    SoftBindingQueryResult,
)
from domain.errors import DomainError, NotFoundError
from domain.provenance import SOFT_BINDING_ALGORITHM

MANIFEST_MEDIA_TYPE = "application/c2pa"
MaxResults = Annotated[int, QueryParameter(name="maxResults", ge=1, le=100, required=False)]
AlgQuery = Annotated[str, QueryParameter(name="alg", max_length=200)]
ValueQuery = Annotated[str, QueryParameter(name="value", max_length=4096)]
OptionalAlg = Annotated[str | None, QueryParameter(name="alg", required=False, max_length=200)]
HintAlg = Annotated[str | None, QueryParameter(name="hintAlg", required=False, max_length=200)]
HintValue = Annotated[str | None, QueryParameter(name="hintValue", required=False,
                                                 max_length=4096)]
ActiveOnly = Annotated[bool, QueryParameter(name="returnActiveManifest", required=False)]


class InvalidSoftBindingQueryError(DomainError):
    code = "invalid-soft-binding-query"
    status = 400


class SoftBindingController(Controller):
    path = "/c2pa/v1"
    tags = ["C2PA soft binding resolution"]

    @get("/services/supportedAlgorithms", operation_id="getSupportedBindings")
    async def supported(self) -> SoftBindingAlgList:
        """The soft binding algorithms this service resolves: one watermark."""
        return SoftBindingAlgList(watermarks=[SoftBindingAlgorithm(SOFT_BINDING_ALGORITHM)],
                                  fingerprints=[])

    @get("/matches/byBinding", operation_id="queryByBinding")
    async def by_binding(self, request: Req, alg: AlgQuery, value: ValueQuery,
                         max_results: MaxResults = 10) -> SoftBindingQueryResult:
        """The manifests whose soft binding is `value` (base64) under `alg`: at most one,
        the generation that was given this watermark serial, once it is published."""
        return await self._matches(request, alg, value, max_results)

    @post("/matches/byBinding", operation_id="queryByLargeBinding", status_code=200)
    async def by_large_binding(self, request: Req, data: JSONBody[SoftBindingQuery],
                               max_results: MaxResults = 10,
                               idempotency_key: IdempotencyKey = None
                               ) -> SoftBindingQueryResult:
        """The same query with the binding in the body. A query changes nothing, so an
        Idempotency-Key is accepted and has nothing to do."""
        return await self._matches(request, data.alg, data.value, max_results)

    @post("/matches/byContent", operation_id="uploadFile", status_code=200,
          request_max_body_size=MAX_BYTES)
    async def by_content(self, request: Req, alg: OptionalAlg = None,
                         max_results: MaxResults = 10, hint_alg: HintAlg = None,
                         hint_value: HintValue = None,
                         idempotency_key: IdempotencyKey = None) -> SoftBindingQueryResult:
        """The manifests of the generation whose watermark the uploaded video (MP4, WebM or
        MOV body) carries, read as POST /provenance reads it; rate limited per client
        address. `hintAlg`/`hintValue` are accepted and not used: the binding is always
        read from the content itself."""
        if alg not in (None, SOFT_BINDING_ALGORITHM):
            raise InvalidSoftBindingQueryError(f"unsupported soft binding algorithm {alg!r}")
        evidence, verdict, _ = await look_up(request, lambda: body_of(request))
        reading = evidence.reading
        if verdict.record is None or reading.payload is None \
                or verdict.found_by not in ("watermark", "both"):
            return SoftBindingQueryResult(matches=[])
        match = await self._match(request, reading.payload, round(100 * reading.confidence))
        return SoftBindingQueryResult(matches=[match][:max_results] if match else [])

    @get("/manifests/{manifestId:str}", operation_id="getManifestById",
         media_type=MANIFEST_MEDIA_TYPE, responses={
             200: ResponseSpec(bytes, media_type=MANIFEST_MEDIA_TYPE,
                               description="the C2PA manifest store, as signed into the "
                                           "published file")})
    async def manifest(self, request: Req, manifestId: FromPath[str],  # the spec's name
                       return_active_manifest: ActiveOnly = False) -> Response[bytes]:
        """A manifest store by manifest id (`urn:c2pa:<generation id>`). Each store here
        holds exactly one manifest, the active one, so `returnActiveManifest` changes
        nothing."""
        self._check_rate(request)
        manifest_id = manifestId
        generation_id = generation_of(manifest_id)
        if generation_id is None:
            raise InvalidSoftBindingQueryError("not a manifest id of this service",
                                               manifest_id=manifest_id[:200])
        store = await sync_to_thread(manifests(request).store, generation_id)
        if store is None:
            raise NotFoundError("no such manifest", manifest_id=manifest_id)
        return Response(store, media_type=MANIFEST_MEDIA_TYPE,
                        headers={"Cache-Control": "public, max-age=300"})

    async def _matches(self, request: Req, alg: str, value: str, max_results: int
                       ) -> SoftBindingQueryResult:
        self._check_rate(request)
        if alg != SOFT_BINDING_ALGORITHM:
            raise InvalidSoftBindingQueryError(f"unsupported soft binding algorithm {alg!r}",
                                               supported=[SOFT_BINDING_ALGORITHM])
        try:
            payload = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidSoftBindingQueryError("value is not base64") from None
        if len(payload) != 6:
            raise InvalidSoftBindingQueryError(
                f"a {SOFT_BINDING_ALGORITHM} value is 6 bytes, got {len(payload)}")
        match = await self._match(request, payload, 100)
        return SoftBindingQueryResult(matches=[match][:max_results] if match else [])

    async def _match(self, request: Req, payload: bytes, score: int
                     ) -> SoftBindingMatch | None:
        """The match for a watermark serial: its generation, if its manifest is served."""
        record = await views(request).provenance.by_serial(payload)
        if record is None:
            return None
        store = await sync_to_thread(manifests(request).store, record.generation_id)
        if store is None:
            return None
        return SoftBindingMatch(manifest_id=manifest_label(str(record.generation_id)),
                                similarity_score=score)

    @staticmethod
    def _check_rate(request: Req) -> None:
        client = request.client.host if request.client else "unknown"
        request.app.state["rate_limits"].check_subject("soft_binding", client)
