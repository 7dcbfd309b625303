"""The public provenance lookup: anyone uploads a video and learns whether it was made here,
by which generation, and whether it is still published (SPEC section 5, journey 5)."""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Controller, post
from litestar.concurrency import sync_to_thread

from adapters.media_intake import PUBLIC_LIMITS
from adapters.provenance_lookup import (
    FIT_LINES,
    KEEP_FRAMES,
    MAX_BYTES,
    ProvenanceInspector,
    attribute,
    bank_findings,
    check_media_type,
)
from api.deps import IdempotencyKey, Req, client_address, container, views
from api.schemas.provenance import ProvenanceOut
from api.uploads import received
from domain.errors import DomainError

T = TypeVar("T")


class ProvenanceNotConfiguredError(DomainError):
    code = "provenance-not-configured"
    status = 503


LOOKUP_LIMITS = dataclasses.replace(PUBLIC_LIMITS, fit_lines=FIT_LINES)
# One detection at a time in the API process: it holds the sample as floating point (a few
# hundred megabytes at most), and the cores are the sandboxes' anyway.
_DETECTING = threading.BoundedSemaphore(1)


def _one_at_a_time(fn: Callable[..., T], *args: Any) -> T:
    with _DETECTING:
        return fn(*args)


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
        detector's confidence and false-positive probability; and whether its frames match
        content removed for a takedown (`bank`). A lookup changes nothing, so an
        Idempotency-Key is accepted and has nothing to do."""
        client = client_address(request)
        limits = request.app.state["rate_limits"]
        limits.check_subject("provenance", client)
        limits.require_budget("provenance-seconds", client)
        c = container(request)
        if c.watermarker is None or c.signer is None:
            raise ProvenanceNotConfiguredError("no watermarker or signer is configured")
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        check_media_type(media_type)
        inspector = ProvenanceInspector(c.watermarker, c.signer)
        async with c.media_intake.admitted(), received(request, MAX_BYTES) as upload:
            # Decoded in the intake's sandbox; the seconds decoded are charged to the
            # address, those of a refused file as far as it got (a broken sandbox: all).
            try:
                sample = await c.media_intake.sample(upload.path, media_type, LOOKUP_LIMITS,
                                                     keep=KEEP_FRAMES, luma=True,
                                                     digest=upload.digest)
            except DomainError as refused:
                spent = refused.extra.get("seconds_decoded", LOOKUP_LIMITS.max_seconds
                                          if refused.extra.get("sandbox") else 0)
                limits.charge("provenance-seconds", client, math.ceil(spent))
                raise
            limits.charge("provenance-seconds", client, math.ceil(sample.seconds))
            evidence = await sync_to_thread(_one_at_a_time, inspector.evidence,
                                            upload.read(), media_type, sample.frames)
            bank = await sync_to_thread(bank_findings, c.app, sample.frames)
        v = views(request).provenance
        return ProvenanceOut.of(evidence, await attribute(evidence, v.by_serial, v.get), bank)
