"""The public provenance lookup: anyone uploads a video and learns whether it was made here,
by which generation, whether it is still published, and what its signed manifest discloses
(SPEC section 5, journey 5)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, post
from litestar.concurrency import sync_to_thread

from adapters.manifest_repository import ManifestRepository
from adapters.provenance_lookup import (
    MAX_BYTES,
    Attribution,
    Evidence,
    ProvenanceInspector,
    attribute,
    sight_visible_mark,
)
from api.deps import IdempotencyKey, Req, container, views
from api.schemas.provenance import ProvenanceOut
from domain.errors import DomainError
from domain.provenance import Disclosure


class ProvenanceNotConfiguredError(DomainError):
    code = "provenance-not-configured"
    status = 503


def manifests(request: Req) -> ManifestRepository:
    c = container(request)
    if c.watermarker is None or c.signer is None:
        raise ProvenanceNotConfiguredError("no watermarker or signer is configured")
    return ManifestRepository(c.app, c.blobs, c.signer)


async def look_up(request: Req, media: bytes, media_type: str) -> tuple[Evidence, Attribution]:
    """Rate limited per client address (decoding is the expensive part), then the evidence
    of one upload and what it names, with the generation's disclosure."""
    client = request.client.host if request.client else "unknown"
    request.app.state["rate_limits"].check_subject("provenance", client)
    repository = manifests(request)
    c = container(request)
    assert c.watermarker is not None
    inspector = ProvenanceInspector(c.watermarker, repository.signer)
    evidence = await sync_to_thread(inspector.inspect, media, media_type)
    v = views(request).provenance

    async def published_disclosure(generation_id: UUID) -> Disclosure | None:
        return await sync_to_thread(repository.disclosure, generation_id)

    verdict = await attribute(evidence, v.by_serial, v.get, published_disclosure)
    verdict = await sync_to_thread(sight_visible_mark, evidence, verdict, c.visible_marks)
    return evidence, verdict


class ProvenanceController(Controller):
    path = "/provenance"
    tags = ["provenance"]

    @post("/", operation_id="lookupProvenance", status_code=200,
          request_max_body_size=MAX_BYTES)
    async def lookup(self, request: Req,
                     idempotency_key: IdempotencyKey = None) -> ProvenanceOut:
        """Public, no key needed; rate limited per client address. The body is the video
        (Content-Type video/mp4, video/webm or video/quicktime). Reads the C2PA manifest
        if there is one and the invisible watermark, which survives re-encoding, rescaling,
        mirroring, crops, small rotations, aspect changes, insets and stripped metadata;
        answers the generation's public record, how it was found (`watermark`, `c2pa` or
        `both`) and its AI disclosure (provider, system and version, creation time, unique
        id: from the upload's manifest, or from the published original's when the copy was
        stripped), or "no provenance found", always with the detector's confidence and
        false-positive probability. A lookup changes nothing, so an Idempotency-Key is
        accepted and has nothing to do."""
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        evidence, verdict = await look_up(request, await request.body(), media_type)
        return ProvenanceOut.of(evidence, verdict)
