"""The public provenance check page: a form, and the answer of the provenance lookup in words
(api/provenance_page.py), for people without an API client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Controller, MediaType, Response, get, post
from litestar.datastructures import UploadFile

from adapters.provenance_lookup import MAX_BYTES, MEDIA_TYPES
from api.controllers.provenance import look_up
from api.deps import IdempotencyKey, Req
from api.provenance_page import failure, page, result
from api.schemas.provenance import ProvenanceOut
from domain.errors import DomainError, ValidationError

_BY_EXTENSION = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm",
                 ".mov": "video/quicktime"}


class ProvenanceCheckController(Controller):
    path = "/provenance/check"
    tags = ["provenance"]

    @get("/", operation_id="provenanceCheckPage", media_type=MediaType.HTML)
    async def show(self) -> str:
        """An HTML page where anyone uploads a video and reads, in words, whether it was
        made here."""
        return page("<p>Upload a video to learn whether it was made with Consentry, by whom, "
                    "and whether it is still published.</p>")

    @post("/", operation_id="checkProvenanceUpload", media_type=MediaType.HTML,
           status_code=200, request_max_body_size=MAX_BYTES)
    async def check(self, request: Req, idempotency_key: IdempotencyKey = None
                    ) -> Response[str]:
        """The form's target (multipart/form-data with the file in `video`): the same
        lookup as POST /provenance (and its rate limit), answered as an HTML page in words;
        a problem is a page too, with its status. The form is parsed only once the request
        has a place in the media intake."""
        try:
            evidence, verdict, bank = await look_up(request, lambda: form_video(request))
        except DomainError as exc:
            return Response(page(failure(exc.detail)), status_code=exc.status,
                            media_type=MediaType.HTML)
        return Response(page(result(ProvenanceOut.of(evidence, verdict, bank))),
                        media_type=MediaType.HTML)


@asynccontextmanager
async def form_video(request: Req) -> AsyncIterator[tuple[str, bytes]]:
    """The form's `video` file and its type (from the part's Content-Type, else the file
    name's extension)."""
    form = await request.form()
    upload = form.get("video")
    if not isinstance(upload, UploadFile):
        raise ValidationError("choose a video file to check")
    media_type = (upload.content_type or "").split(";")[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        name = (upload.filename or "").lower()
        media_type = next((t for ext, t in _BY_EXTENSION.items() if name.endswith(ext)),
                          media_type)
    yield media_type, await upload.read()
