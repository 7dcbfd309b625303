"""The errors every operation can answer, declared in the OpenAPI description as
application/problem+json (RFC 9457) with the `Problem` schema: clients and generated tests
see every status the server may send, not only the successful ones."""

from __future__ import annotations

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
)

from api.errors import PROBLEM

HTML = "text/html"

DESCRIPTIONS = {
    400: "malformed or invalid request (problem+json `code`)",
    401: "no valid bearer key",
    403: "not allowed for this principal",
    404: "no such resource, or not yours to see",
    409: "the resource is not in a state that allows this, or changed meanwhile",
    413: "the body is larger than this operation takes",
    415: "a body of a media type this operation does not take",
    422: "understood but refused: invalid values, media that does not decode or exceeds "
         "its limits",
    429: "rate limited; see the Retry-After header",
    500: "the server failed (with an `error_id`); a command commits all of its events or "
         "none, so a retry with the same Idempotency-Key is safe",
    503: "busy or not configured; see Retry-After when given",
}
# Operations with a rate limit, or that decode uploads in the media intake.
LIMITED = {"requestGeneration", "startVerification", "lookupProvenance",
           "checkProvenanceUpload", "uploadFile", "queryByBinding", "queryByLargeBinding",
           "getManifestById"}
UPLOADS = {"lookupProvenance", "checkProvenanceUpload", "uploadFile", "addWorkReference",
           "submitVerificationVideo"}
# Form targets that answer their problems as HTML pages, with the same statuses.
HTML_PAGES = {"checkProvenanceUpload"}


def document_errors(schema: OpenAPI) -> None:
    problem = OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))
    page = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
    for item in (schema.paths or {}).values():
        for method in ("get", "post", "put", "patch", "delete"):
            operation = getattr(item, method)
            if operation is None:
                continue
            statuses = {400, 404, 422, 500}
            if operation.security:  # public operations have none
                statuses |= {401, 403}
            if method != "get":
                statuses |= {409, 413, 415}
            if operation.operation_id in LIMITED:
                statuses |= {429, 503}
            if operation.operation_id in UPLOADS:
                statuses |= {413, 415, 503}
            responses = operation.responses if operation.responses is not None else {}
            media_type, body = (HTML, page) if operation.operation_id in HTML_PAGES \
                else (PROBLEM, problem)
            for status in sorted(statuses):
                declared = responses.get(str(status))
                # Litestar declares its own 400 as application/json; ours are problems.
                if not isinstance(declared, OpenAPIResponse) or media_type not in (
                        declared.content or {}):
                    responses[str(status)] = OpenAPIResponse(
                        description=DESCRIPTIONS[status], content={media_type: body})
            operation.responses = responses
