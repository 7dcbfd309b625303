"""The public provenance check page: a form, and the answer of the provenance lookup in words
(api/provenance_page.py), for people without an API client."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, MediaType, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import MultipartBody

from adapters.provenance_lookup import MAX_BYTES, MEDIA_TYPES
from api.controllers.provenance import look_up
from api.deps import IdempotencyKey, Req
from api.provenance_page import failure, page, result
from api.schemas.provenance import ProvenanceOut
from domain.errors import DomainError

_BY_EXTENSION = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm",
                 ".mov": "video/quicktime"}


@dataclass
class CheckForm:
    video: UploadFile


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
    async def check(self, request: Req, data: MultipartBody[CheckForm],
                    idempotency_key: IdempotencyKey = None) -> Response[str]:
        """The form's target: the same lookup as POST /provenance (and its rate limit),
        answered as an HTML page in words; a problem is a page too, with its status."""
        upload = data.video
        media_type = (upload.content_type or "").split(";")[0].strip().lower()
        if media_type not in MEDIA_TYPES:
            name = (upload.filename or "").lower()
            media_type = next((t for ext, t in _BY_EXTENSION.items() if name.endswith(ext)),
                              media_type)
        try:
            evidence, verdict = await look_up(request, media_type, await upload.read())
        except DomainError as exc:
            return Response(page(failure(exc.detail)), status_code=exc.status,
                            media_type=MediaType.HTML)
        return Response(page(result(ProvenanceOut.of(evidence, verdict))),
                        media_type=MediaType.HTML)
