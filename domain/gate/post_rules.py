"""The after-generation rules (SPEC section 3) as pure functions of the findings the worker
recorded in `Generation.Scanned`, so that a retried or resumed job decides exactly as the
first attempt did. `CONSENT-STILL-VALID` and `WATERMARK-READBACK` are checked later, at
publication, because they are about the moment of publishing, not about the frames.

Findings shape (plain data, as stored in the event):
- `faces`: {configured, error, model_id, tracks: [{track_id, verdict, candidates:
  [{subject_id, member_id, distance, decision, is_cameo}], ...}]}
- `works`: {configured, error, unchecked: [method], matches: [{work_id, method, score,
  decision, licensed, ...}]}
- `safety`: {configured, error, decision: allow | review | block, labels: {label: score}}
- `bank`: {configured, error, frames, matches: [{entry_id, decision, trusted, source,
  reason, request, frames_matched, frames_near, distance}]}: the hash bank of removed
  content, checked against the frame hashes the work scan recorded (`record_scan`)
- `voices`: {configured, error, model_id, outcome: pass | review | fail, reason, segments:
  [{start, end, subject_id, member_id, distance, verdict}]} (domain.voice.VoiceScanReport)

Fail closed: a scanner that was not configured or raised yields `review`, never `pass`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.gate.rules import FAIL, PASS, REVIEW, RuleResult

FACE_CONSENTED = "FACE-CONSENTED"
FACE_NOT_OTHERS = "FACE-NOT-OTHERS"
WORK_VISUAL = "WORK-VISUAL"
SAFETY = "SAFETY"
STAYDOWN = "STAYDOWN"
VOICE_NOT_OTHERS = "VOICE-NOT-OTHERS"
WATERMARK_READBACK = "WATERMARK-READBACK"
CONSENT_STILL_VALID = "CONSENT-STILL-VALID"
PIPELINE_ERROR = "PIPELINE-ERROR"
EMBEDDING_UNCHECKED = "embedding"


@dataclass(frozen=True)
class PostDecision:
    outcome: str  # "allow" | "reject" | "review"
    results: tuple[RuleResult, ...]

    @property
    def rule_codes(self) -> tuple[str, ...]:
        wanted = FAIL if self.outcome == "reject" else REVIEW
        return tuple(r.code for r in self.results if r.outcome == wanted)

    def trace(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.results]


def _unusable(section: dict[str, Any], what: str) -> dict[str, Any] | None:
    """Evidence for `review` when a scanner did not run properly, else None."""
    if section.get("error"):
        return {"reason": f"{what} failed", "error": section["error"]}
    if not section.get("configured", False):
        why = f": {section['reason']}" if section.get("reason") else ""
        return {"reason": f"{what} is not configured{why}"}
    return None


def face_consented(findings: dict[str, Any]) -> RuleResult:
    faces = findings.get("faces", {})
    broken = _unusable(faces, "face scan")
    if broken:
        return RuleResult(FACE_CONSENTED, REVIEW, broken)
    cameo_tracks = [t for t in faces.get("tracks", []) if t.get("verdict") == "cameo"]
    return RuleResult(FACE_CONSENTED, PASS, {"cameo_tracks": [
        {"track_id": t["track_id"], "member_id": (t.get("candidates") or [{}])[0].get(
            "member_id")} for t in cameo_tracks]})


def face_not_others(findings: dict[str, Any]) -> RuleResult:
    faces = findings.get("faces", {})
    broken = _unusable(faces, "face scan")
    if broken:
        return RuleResult(FACE_NOT_OTHERS, REVIEW, broken)
    tracks = faces.get("tracks", [])
    others = [t["track_id"] for t in tracks if t.get("verdict") == "other_identity"]
    unsure = [t["track_id"] for t in tracks if t.get("verdict") == "review"]
    evidence = {"other_identity_tracks": others, "review_tracks": unsure,
                "tracks": len(tracks)}
    return RuleResult(FACE_NOT_OTHERS, FAIL if others else REVIEW if unsure else PASS,
                      evidence)


def work_visual(findings: dict[str, Any]) -> RuleResult:
    works = findings.get("works", {})
    broken = _unusable(works, "protected-work scan")
    if broken:
        return RuleResult(WORK_VISUAL, REVIEW, broken)
    if not works.get("frames_usable", 1) and EMBEDDING_UNCHECKED in works.get("unchecked", ()):
        # PDQ skipped every frame (too plain to hash) and nothing else looked.
        return RuleResult(WORK_VISUAL, REVIEW, {"reason": "no frame could be checked"})
    unlicensed = [m for m in works.get("matches", []) if not m.get("licensed")]
    matched = sorted({m["work_id"] for m in unlicensed if m.get("decision") == "match"})
    near = sorted({m["work_id"] for m in unlicensed if m.get("decision") == "review"})
    evidence = {"unlicensed_matches": matched, "near_matches": near,
                "unchecked": list(works.get("unchecked", []))}
    return RuleResult(WORK_VISUAL, FAIL if matched else REVIEW if near else PASS, evidence)


def safety(findings: dict[str, Any]) -> RuleResult:
    section = findings.get("safety", {})
    broken = _unusable(section, "safety classifier")
    if broken:
        return RuleResult(SAFETY, REVIEW, broken)
    decision = section.get("decision", "review")
    outcome = {"allow": PASS, "block": FAIL}.get(decision, REVIEW)
    return RuleResult(SAFETY, outcome, {"decision": decision,
                                        "labels": dict(section.get("labels", {}))})


def staydown(findings: dict[str, Any]) -> RuleResult:
    """Content removed for a takedown stays down: frames matching a trusted bank entry
    reject the video; a near match, or a match with an entry imported from an untrusted
    source, goes to a person."""
    bank = findings.get("bank", {})
    broken = _unusable(bank, "hash bank check")
    if broken:
        return RuleResult(STAYDOWN, REVIEW, broken)
    matches = bank.get("matches", [])
    acting = [m["entry_id"] for m in matches if m["decision"] == "match" and m["trusted"]]
    near = [m["entry_id"] for m in matches if m["entry_id"] not in acting]
    evidence = {"matches": [dict(m) for m in matches], "frames": bank.get("frames", 0)}
    return RuleResult(STAYDOWN, FAIL if acting else REVIEW if near else PASS, evidence)



def voice_not_others(findings: dict[str, Any]) -> RuleResult:
    """SPEC §8: no speech in the voice of a verified person who is not a consenting cameo;
    near the threshold, or no speaker model to listen (not configured), a person listens."""
    voices = findings.get("voices", {})
    broken = _unusable(voices, "voice scan")
    if broken:
        return RuleResult(VOICE_NOT_OTHERS, REVIEW, broken)
    segments = voices.get("segments", [])
    def heard(verdict: str) -> list[dict[str, Any]]:
        return [{k: s.get(k) for k in ("start", "end", "member_id", "distance")}
                for s in segments if s.get("verdict") == verdict]

    others, unsure = heard("other_identity"), heard("review")
    evidence = {"other_voices": others, "review_voices": unsure, "segments": len(segments),
                "model_id": voices.get("model_id")}
    return RuleResult(VOICE_NOT_OTHERS, FAIL if others else REVIEW if unsure else PASS,
                      evidence)


POST_RULES = (face_consented, face_not_others, work_visual, safety, voice_not_others,
              staydown)


def evaluate_post(findings: dict[str, Any]) -> PostDecision:
    """Any fail rejects, else any review holds for a person, else the video may go on to
    watermarking."""
    results = tuple(rule(findings) for rule in POST_RULES)
    outcomes = {r.outcome for r in results}
    outcome = "reject" if FAIL in outcomes else "review" if REVIEW in outcomes else "allow"
    return PostDecision(outcome, results)
