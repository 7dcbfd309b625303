"""VOICE-NOT-OTHERS decided on speech segments against enrolled voices: a consenting
cameo's own voice passes, another enrolled person's fails, near the threshold or near both
asks a person, and a voice nobody enrolled passes."""

from __future__ import annotations

import math

import pytest

from domain.faces import FaceTemplate, Metric
from domain.voice import (
    NotConfiguredSpeakerEmbedder,
    SpeakerModelNotConfiguredError,
    SpeechSegment,
    VoiceThresholds,
    VoiceVerdict,
    judge_voices,
)
from inference.face_index import TieredFaceIndex

pytestmark = pytest.mark.unit
MODEL = "scripted-voice"
THRESHOLDS = VoiceThresholds(MODEL, match=0.10, review=0.15)


def at(degrees: float) -> FaceTemplate:
    """A unit vector at an angle: cosine distance to 0 degrees is 1 - cos(angle)."""
    radians = math.radians(degrees)
    return FaceTemplate(MODEL, Metric.COSINE, (math.cos(radians), math.sin(radians), 0.0))


@pytest.fixture
def index() -> TieredFaceIndex:
    enrolled = TieredFaceIndex(MODEL, Metric.COSINE)
    enrolled.add("ada", at(0))
    enrolled.add("bob", at(90))
    return enrolled


def scan(index: TieredFaceIndex, voice: FaceTemplate, consenting: set[str]) -> VoiceVerdict:
    report = judge_voices([SpeechSegment(0.0, 2.0, voice)], index, THRESHOLDS,
                          frozenset(consenting))
    return report.findings[0].verdict


def test_a_consenting_cameos_own_voice_passes(index: TieredFaceIndex):
    assert scan(index, at(5), {"ada"}) is VoiceVerdict.CONSENTED


def test_another_enrolled_persons_voice_fails(index: TieredFaceIndex):
    report = judge_voices([SpeechSegment(1.0, 3.0, at(5))], index, THRESHOLDS, frozenset())
    assert report.outcome == "fail" and report.findings[0].subject_id == "ada"


def test_near_the_threshold_a_person_listens(index: TieredFaceIndex):
    # 1 - cos(29 degrees) = 0.125: beyond match (0.10), within review (0.15)
    assert scan(index, at(29), set()) is VoiceVerdict.REVIEW
    assert scan(index, at(29), {"ada"}) is VoiceVerdict.REVIEW


def test_a_voice_close_to_a_cameo_and_to_someone_else_asks_a_person():
    index = TieredFaceIndex(MODEL, Metric.COSINE)
    index.add("ada", at(0))
    index.add("eve", at(20))
    assert scan(index, at(8), {"ada"}) is VoiceVerdict.REVIEW


def test_a_voice_nobody_enrolled_passes(index: TieredFaceIndex):
    report = judge_voices([SpeechSegment(0.0, 2.0, at(45))], index, THRESHOLDS, frozenset())
    assert report.outcome == "pass" and report.findings[0].verdict is VoiceVerdict.UNKNOWN


def test_an_unconfigured_speaker_model_says_so_instead_of_answering():
    embedder = NotConfiguredSpeakerEmbedder("no weights")
    assert not embedder.configured
    with pytest.raises(SpeakerModelNotConfiguredError):
        embedder.enrol(b"video")
    with pytest.raises(SpeakerModelNotConfiguredError):
        embedder.segments(b"video")


def test_without_a_speaker_model_the_scan_says_review_and_why(index: TieredFaceIndex):
    from domain.voice import scan_voices

    report = scan_voices(NotConfiguredSpeakerEmbedder("no weights"), b"video", index,
                         frozenset())
    assert report.outcome == "review" and not report.configured
    assert report.as_findings()["configured"] is False


def test_findings_record_each_segment_with_its_verdict(index: TieredFaceIndex):
    report = judge_voices([SpeechSegment(0.5, 2.5, at(5))], index, THRESHOLDS, frozenset())
    findings = report.as_findings()
    assert findings["outcome"] == "fail" and findings["model_id"] == MODEL
    assert findings["segments"] == [{"start": 0.5, "end": 2.5, "subject_id": "ada",
                                     "distance": round(1 - math.cos(math.radians(5)), 4),
                                     "verdict": "other_identity"}]


# -- the after-generation rule on the recorded findings ------------------------------------
def rule_on(voices: dict | None) -> tuple[str, dict]:
    from domain.gate.post_rules import VOICE_NOT_OTHERS, evaluate_post

    findings = {} if voices is None else {"voices": voices}
    results = {r.code: r for r in evaluate_post(findings).results}
    return results[VOICE_NOT_OTHERS].outcome, results[VOICE_NOT_OTHERS].evidence


def test_the_rule_fails_on_another_persons_voice_and_names_them(index: TieredFaceIndex):
    report = judge_voices([SpeechSegment(0.5, 2.5, at(5)), SpeechSegment(3.0, 4.0, at(29))],
                          index, THRESHOLDS, frozenset())
    findings = report.as_findings()
    findings["segments"][0]["member_id"] = "member-of-ada"
    outcome, evidence = rule_on(findings)
    assert outcome == "fail"
    assert [s["member_id"] for s in evidence["other_voices"]] == ["member-of-ada"]
    assert len(evidence["review_voices"]) == 1 and evidence["segments"] == 2


def test_the_rule_holds_near_threshold_voices_and_passes_cameos_and_strangers(
        index: TieredFaceIndex):
    near = judge_voices([SpeechSegment(0.0, 2.0, at(29))], index, THRESHOLDS, frozenset())
    assert rule_on(near.as_findings())[0] == "review"
    own = judge_voices([SpeechSegment(0.0, 2.0, at(5)), SpeechSegment(2.0, 4.0, at(45))],
                       index, THRESHOLDS, frozenset({"ada"}))
    assert rule_on(own.as_findings())[0] == "pass"


@pytest.mark.parametrize("voices", [
    None,  # no voice scan recorded at all
    {"configured": False, "reason": "no speaker model is configured", "segments": []},
    {"configured": True, "error": "RuntimeError: model crashed", "segments": []},
])
def test_the_rule_fails_closed_when_nobody_listened(voices: dict | None):
    outcome, evidence = rule_on(voices)
    assert outcome == "review" and evidence["reason"].startswith("voice scan")
