"""The public provenance lookup's answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from adapters.provenance_lookup import Attribution, Evidence
from domain.provenance import DIGITAL_SOURCE_TYPE


class PublicGenerationOut(msgspec.Struct):
    """A generation's public record: never its prompt, cameos or decision trace."""

    id: str
    created_at: datetime
    creator_handle: str
    state: str  # published | restricted | taken_down | held | deleted | rejected | in_progress
    published: bool
    taken_down: bool
    published_at: datetime | None
    taken_down_at: datetime | None


class WatermarkOut(msgspec.Struct):
    found: bool
    payload: str | None
    confidence: float  # fraction of codeword symbols read as the decoded payload says
    false_positive_probability: float  # chance an unmarked video reads this well
    frames_examined: int


class C2paOut(msgspec.Struct):
    present: bool
    valid: bool  # signature and hash binding verify
    trusted: bool  # the signing chain leads to a configured trust anchor
    used: bool  # it named the generation (with the watermark, or alone)
    generation_id: str | None
    digital_source_type: str | None
    issues: list[str]


class BankMatchOut(msgspec.Struct):
    entry_id: str
    decision: str  # match | review
    source: str  # local, or the bank it was imported from
    reason: str
    request: str  # the takedown request's reference, for local entries


class BankOut(msgspec.Struct):
    """Whether the video matches content removed for a takedown (the hash bank), by the PDQ
    hashes of its frames. `checked` false: the bank could not be searched."""

    checked: bool
    banked: bool
    matches: list[BankMatchOut]

    @classmethod
    def of(cls, findings: dict[str, Any]) -> BankOut:
        checked = bool(findings.get("configured")) and not findings.get("error")
        matches = [BankMatchOut(m["entry_id"], m["decision"], m["source"], m["reason"],
                                m["request"])
                   for m in findings.get("matches", [])]
        return cls(checked=checked, banked=any(m.decision == "match" for m in matches),
                   matches=matches)


class DisclosureOut(msgspec.Struct):
    """The AI-generation disclosure of the generation's signed C2PA manifest."""

    ai_generated: bool  # digital source type trainedAlgorithmicMedia
    provider: str
    system_name: str
    system_version: str
    created_at: str  # ISO 8601, UTC
    manifest_id: str  # unique id: urn:c2pa:<generation id>
    digital_source_type: str
    source: str  # file: the upload's own manifest | published: the original's (stripped copy)

    @classmethod
    def of(cls, verdict: Attribution) -> DisclosureOut | None:
        found = verdict.disclosure
        if found is None:
            return None
        return cls(ai_generated=found.digital_source_type == DIGITAL_SOURCE_TYPE,
                   provider=found.provider, system_name=found.system_name,
                   system_version=found.system_version, created_at=found.created_at,
                   manifest_id=found.manifest_id,
                   digital_source_type=found.digital_source_type,
                   source=verdict.disclosure_from)


class VisibleMarkOut(msgspec.Struct):
    """Whether the copy still shows the generation's visible mark ("AI" badge, platform
    text, creator's handle): readable | mirrored (text backwards, badge unchanged) | badge
    (only the badge) | missing (not seen: removed, covered, cropped out, or turned or zoomed
    beyond what the finder searches); the finder's scores (normalised correlations)."""

    state: str
    upright: float
    mirrored: float
    badge: float


class ProvenanceOut(msgspec.Struct):
    found: bool
    found_by: str  # watermark | c2pa | both | none
    message: str
    generation: PublicGenerationOut | None
    disclosure: DisclosureOut | None
    visible_mark: VisibleMarkOut | None
    watermark: WatermarkOut
    c2pa: C2paOut
    bank: BankOut

    @classmethod
    def of(cls, evidence: Evidence, verdict: Attribution, bank: dict[str, Any]
           ) -> ProvenanceOut:
        reading, manifest, record = evidence.reading, evidence.manifest, verdict.record
        generation = None if record is None else PublicGenerationOut(
            id=str(record.generation_id), created_at=record.created_at,
            creator_handle=record.creator_handle, state=record.state,
            published=record.published, taken_down=record.taken_down,
            published_at=record.published_at, taken_down_at=record.taken_down_at)
        message = "no provenance found" if record is None else \
            f"made here by @{record.creator_handle}; {record.state.replace('_', ' ')}"
        return cls(
            found=record is not None, found_by=verdict.found_by,
            message=f"{message} ({verdict.note})" if verdict.note else message,
            generation=generation,
            disclosure=DisclosureOut.of(verdict),
            visible_mark=None if verdict.visible_mark is None else VisibleMarkOut(
                verdict.visible_mark.state, round(verdict.visible_mark.upright, 3),
                round(verdict.visible_mark.mirrored, 3), round(verdict.visible_mark.badge, 3)),
            watermark=WatermarkOut(
                found=reading.found, payload=reading.payload.hex() if reading.payload else None,
                confidence=reading.confidence,
                false_positive_probability=reading.false_positive_probability,
                frames_examined=reading.frames_examined),
            c2pa=C2paOut(
                present=manifest is not None, valid=bool(manifest and manifest.valid),
                trusted=bool(manifest and manifest.trusted), used=verdict.manifest_used,
                generation_id=manifest.generation_id if manifest else None,
                digital_source_type=manifest.digital_source_type if manifest else None,
                issues=list(manifest.issues) if manifest else []),
            bank=BankOut.of(bank))
