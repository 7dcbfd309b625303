"""The public provenance lookup: what an uploaded video says about where it came from (its
C2PA manifest, if any, and the invisible watermark in its pixels), and which of the two to
believe. Detection is blocking; callers run `evidence` in a worker thread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

import numpy as np

from domain.errors import UnsupportedMediaTypeError
from domain.provenance import (
    Disclosure,
    ProvenanceError,
    ProvenanceRecord,
    ProvenanceSigner,
    VisibleMarkFinder,
    VisibleMarkSighting,
    Watermarker,
    WatermarkReading,
)
from inference.perceptual import hash_frames
from projections.provenance import PublicRecord

MEDIA_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime"})
# ISO BMFF containers, the ones C2PA binds a manifest into here.
BMFF_TYPES = frozenset({"video/mp4", "video/quicktime"})
MAX_BYTES = 100 * 1024 * 1024
# The detector reads at most 96 frames on a grid of 216 lines: a sample of that many
# frames, scaled to 360 lines, holds everything it uses in a few tens of megabytes.
KEEP_FRAMES = 96
FIT_LINES = 360


def check_media_type(media_type: str) -> None:
    if media_type not in MEDIA_TYPES:
        raise UnsupportedMediaTypeError(
            f"send MP4, WebM or MOV video ({', '.join(sorted(MEDIA_TYPES))})",
            media_type=media_type)


@dataclass(frozen=True)
class Evidence:
    """What the file carries: the detector's reading, the manifest (None: no readable
    manifest in the file), and the sampled luma frames, to look for the visible mark."""

    reading: WatermarkReading
    manifest: ProvenanceRecord | None
    frames: Any = None


@dataclass(frozen=True)
class Attribution:
    """The verdict: the generation's public record (None: no provenance found), how it
    was found ("watermark", "c2pa", "both" or "none"), and the AI disclosure of its signed
    manifest, whether the upload still carries it ("file") or was stripped of it and the
    watermark led to the published original ("published")."""

    record: PublicRecord | None
    found_by: str
    manifest_used: bool
    note: str
    disclosure: Disclosure | None = None
    disclosure_from: str = ""
    visible_mark: VisibleMarkSighting | None = None


class ProvenanceInspector:
    """Reads the evidence of one upload from a sample of its luma frames (decoded and
    scaled down in the media intake's sandbox): the watermark, and the manifest of an MP4
    or MOV."""

    def __init__(self, watermarker: Watermarker, signer: ProvenanceSigner) -> None:
        self.watermarker = watermarker
        self.signer = signer

    def evidence(self, media: bytes, media_type: str, luma_frames: Any) -> Evidence:
        """The watermark in the decoded sample, and the manifest of an MP4 or MOV."""
        reading = self.watermarker.detect(luma_frames)
        manifest = None
        if media_type in BMFF_TYPES:
            try:
                manifest = self.signer.read_bytes(media)
            except ProvenanceError:
                manifest = None  # no manifest, or one too broken to parse: nothing to claim
        return Evidence(reading, manifest, luma_frames)


Lookup = Callable[[UUID], Awaitable[PublicRecord | None]]
SerialLookup = Callable[[bytes], Awaitable[PublicRecord | None]]
DisclosureLookup = Callable[[UUID], Awaitable[Disclosure | None]]


async def attribute(evidence: Evidence, by_serial: SerialLookup, by_id: Lookup,
                    published_disclosure: DisclosureLookup | None = None) -> Attribution:
    """`attribution` below, with the disclosure: the upload's own manifest when it was
    believed, else (a stripped or re-encoded copy) the published original's."""
    verdict = await attribution(evidence, by_serial, by_id)
    if verdict.record is None:
        return verdict
    manifest = evidence.manifest
    if verdict.manifest_used and manifest is not None and manifest.disclosure is not None:
        return replace(verdict, disclosure=manifest.disclosure, disclosure_from="file")
    if published_disclosure is not None:
        found = await published_disclosure(verdict.record.generation_id)
        if found is not None:
            return replace(verdict, disclosure=found, disclosure_from="published")
    return verdict


async def attribution(evidence: Evidence, by_serial: SerialLookup, by_id: Lookup
                      ) -> Attribution:
    """Which generation, if any, the evidence names.

    The watermark is the stronger witness: its false-positive bound is known and it
    survives re-encoding, so it wins a disagreement. A manifest counts only when its
    signature and hash binding verify and the watermark serial it claims is the one the
    named generation was given; one that fails is reported, never believed."""
    reading, manifest = evidence.reading, evidence.manifest
    marked = await by_serial(reading.payload) if reading.payload is not None else None
    claimed = None
    if manifest is not None and manifest.valid and manifest.generation_id:
        claimed = await by_id(_uuid(manifest.generation_id))
        payload = manifest.watermark_payload
        if claimed is not None and (payload is None or payload.hex() != claimed.payload):
            claimed = None
    if marked is not None and claimed is not None:
        if claimed.generation_id == marked.generation_id:
            return Attribution(marked, "both", True, "")
        return Attribution(marked, "watermark", False,
                           "the C2PA manifest names another generation; the watermark wins")
    if marked is not None:
        return Attribution(marked, "watermark", False, _manifest_note(manifest))
    if claimed is not None:
        return Attribution(claimed, "c2pa", True, "")
    note = "a watermark was read but names no generation" \
        if reading.payload is not None else _manifest_note(manifest)
    return Attribution(None, "none", False, note)


BANK_FRAMES = 24  # frames of an upload compared with the hash bank, evenly spread


def bank_findings(app: Any, luma_frames: Any) -> dict[str, Any]:
    """The hash bank's verdict on an upload: PDQ of up to `BANK_FRAMES` of its decoded
    (luma) frames, searched the way rule STAYDOWN searches a new video's."""
    count = len(luma_frames)
    picks: list[int] = np.unique(np.linspace(0, count - 1, min(count, BANK_FRAMES))
                                 .round().astype(int)).tolist() if count else []
    hashed = hash_frames((float(i), luma_frames[i]) for i in picks)
    findings: dict[str, Any] = app.bank_findings(list(hashed.frame_hex))
    return findings


def _manifest_note(manifest: ProvenanceRecord | None) -> str:
    if manifest is None:
        return ""
    if not manifest.valid:
        return "the C2PA manifest does not verify: its claim was ignored"
    return "the C2PA manifest names no generation made here"


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        return UUID(int=0)


def sight_visible_mark(evidence: Evidence, verdict: Attribution,
                       finder: VisibleMarkFinder | None) -> Attribution:
    """For a copy that names one of our generations: does it still show that generation's
    visible mark (with its creator's handle), mirrored, or not at all? Blocking."""
    if finder is None or verdict.record is None or evidence.frames is None:
        return verdict
    sighting = finder.sight(evidence.frames, verdict.record.creator_handle)
    return replace(verdict, visible_mark=sighting)
