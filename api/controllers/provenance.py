"""The public provenance lookup: anyone uploads a video and learns whether it was made here,
by which generation, whether it is still published, and what its signed manifest discloses
(SPEC section 5, journey 5)."""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

from litestar import Controller, post
from litestar.concurrency import sync_to_thread

from adapters.manifest_repository import ManifestRepository
from adapters.media_intake import PUBLIC_LIMITS
from adapters.provenance_lookup import (
    FIT_LINES,
    KEEP_FRAMES,
    MAX_BYTES,
    Attribution,
    Evidence,
    ProvenanceInspector,
    attribute,
    bank_findings,
    check_media_type,
    sight_visible_mark,
)
from api.deps import IdempotencyKey, Req, client_address, container, views
from api.schemas.provenance import ProvenanceOut
from api.uploads import Upload, received
from domain.errors import DomainError
from domain.provenance import Disclosure

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


def manifests(request: Req) -> ManifestRepository:
    c = container(request)
    if c.watermarker is None or c.signer is None:
        raise ProvenanceNotConfiguredError("no watermarker or signer is configured")
    return ManifestRepository(c.app, c.blobs, c.signer)


# An upload's media type and the file (spooled to disk, or bytes a form parser already
# holds), received only once the request has a place in the media intake.
Received = AbstractAsyncContextManager[tuple[str, Upload | bytes]]


@asynccontextmanager
async def body_of(request: Req) -> AsyncIterator[tuple[str, Upload | bytes]]:
    """The request body as the upload, its type from Content-Type (checked first)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    check_media_type(media_type)
    async with received(request, MAX_BYTES) as upload:
        yield media_type, upload


async def look_up(request: Req, receive: Callable[[], Received]
                  ) -> tuple[Evidence, Attribution, dict[str, Any]]:
    """Rate limited per client address, in requests and in seconds of video decoded
    (decoding is the expensive part), then admitted to the media intake before a byte of
    the upload is read; decoded in the intake's sandbox, then the evidence of it and what
    it names, with the generation's disclosure and whether the copy still shows the
    visible mark, and what the hash bank of removed content says of its frames."""
    client = client_address(request)
    limits = request.app.state["rate_limits"]
    limits.check_subject("provenance", client)
    limits.require_budget("provenance-seconds", client)
    repository = manifests(request)
    c = container(request)
    assert c.watermarker is not None
    inspector = ProvenanceInspector(c.watermarker, repository.signer)
    async with c.media_intake.admitted(), receive() as (media_type, upload):
        check_media_type(media_type)
        source, digest = (upload, None) if isinstance(upload, bytes) else (upload.path,
                                                                           upload.digest)
        # The seconds decoded are charged to the address, those of a refused file as far
        # as it got (a broken sandbox: all).
        try:
            sample = await c.media_intake.sample(source, media_type, LOOKUP_LIMITS,
                                                 keep=KEEP_FRAMES, luma=True, digest=digest)
        except DomainError as refused:
            spent = refused.extra.get("seconds_decoded", LOOKUP_LIMITS.max_seconds
                                      if refused.extra.get("sandbox") else 0)
            limits.charge("provenance-seconds", client, math.ceil(spent))
            raise
        limits.charge("provenance-seconds", client, math.ceil(sample.seconds))
        media = upload if isinstance(upload, bytes) else upload.read()
        evidence = await sync_to_thread(_one_at_a_time, inspector.evidence, media,
                                        media_type, sample.frames)
        bank = await sync_to_thread(bank_findings, c.app, sample.frames)
    v = views(request).provenance

    async def published_disclosure(generation_id: UUID) -> Disclosure | None:
        return await sync_to_thread(repository.disclosure, generation_id)

    verdict = await attribute(evidence, v.by_serial, v.get, published_disclosure)
    verdict = await sync_to_thread(sight_visible_mark, evidence, verdict, c.visible_marks)
    return evidence, verdict, bank


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
        false-positive probability; and whether its frames match content removed for a
        takedown (`bank`). A lookup changes nothing, so an Idempotency-Key is
        accepted and has nothing to do."""
        evidence, verdict, bank = await look_up(request, lambda: body_of(request))
        return ProvenanceOut.of(evidence, verdict, bank)
