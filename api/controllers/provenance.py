"""The public provenance lookup: anyone uploads a video and learns whether it was made here,
by which generation, and whether it is still published (SPEC section 5, journey 5)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.concurrency import sync_to_thread

from adapters.provenance_lookup import MAX_BYTES, ProvenanceInspector, attribute
from api.deps import IdempotencyKey, Req, container, views
from api.schemas.provenance import ProvenanceOut
from domain.errors import DomainError


class ProvenanceNotConfiguredError(DomainError):
    code = "provenance-not-configured"
    status = 503


class ProvenanceController(Controller):
    path = "/provenance"
    tags = ["provenance"]

    @post("/", operation_id="lookupProvenance", status_code=200,
          request_max_body_size=MAX_BYTES)
    async def lookup(self, request: Req,
                     idempotency_key: IdempotencyKey = None) -> ProvenanceOut:
        """Public, no key needed; rate limited per client address. The body is the video
        (Content-Type video/mp4, video/webm or video/quicktime). Reads the C2PA manifest
        if there is one and the invisible watermark, which survives re-encoding, rescaling
        and stripped metadata; answers the generation's public record and how it was found
        (`watermark`, `c2pa` or `both`), or "no provenance found", always with the
        detector's confidence and false-positive probability. A lookup changes nothing, so
        an Idempotency-Key is accepted and has nothing to do."""
        client = request.client.host if request.client else "unknown"
        request.app.state["rate_limits"].check_subject("provenance", client)
        c = container(request)
        if c.watermarker is None or c.signer is None:
            raise ProvenanceNotConfiguredError("no watermarker or signer is configured")
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        inspector = ProvenanceInspector(c.watermarker, c.signer)
        evidence = await sync_to_thread(inspector.inspect, await request.body(), media_type)
        v = views(request).provenance
        return ProvenanceOut.of(evidence, await attribute(evidence, v.by_serial, v.get))
