"""The C2PA Soft Binding Resolution API's documents (c2pa.softBindingAlgList,
c2pa.softBindingQuery, c2pa.softBindingQueryResult), field for field as the specification's
OpenAPI description spells them (camelCase on the wire)."""

from __future__ import annotations

from typing import Annotated

import msgspec

Base64 = Annotated[str, msgspec.Meta(max_length=4096, description=(
    "A base64-encoded string describing, in algorithm specific format, the value of the "
    "soft binding: for com.consentry.watermark.dct-ss.v2, the 6-byte watermark serial."))]
Alg = Annotated[str, msgspec.Meta(max_length=200, description=(
    "A soft binding algorithm identifier, as in the C2PA soft binding algorithm list."))]


class SoftBindingAlgorithm(msgspec.Struct):
    alg: str


class SoftBindingAlgList(msgspec.Struct):
    """The soft binding algorithms this service resolves."""

    watermarks: list[SoftBindingAlgorithm]
    fingerprints: list[SoftBindingAlgorithm]


class SoftBindingQuery(msgspec.Struct):
    """One soft binding to resolve."""

    alg: Alg
    value: Base64


class SoftBindingMatch(msgspec.Struct, rename="camel", omit_defaults=True):
    """A matched manifest: fetch it from this service's /manifests/{manifestId} (no
    `endpoint`). `similarityScore` 0-100: 100 for an exact binding value; from content, the
    share of the watermark's codeword symbols read as the decoded serial says."""

    manifest_id: str
    endpoint: str | None = None
    similarity_score: int | None = None


class SoftBindingQueryResult(msgspec.Struct):
    matches: list[SoftBindingMatch]
