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
