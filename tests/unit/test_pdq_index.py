"""The PDQ reference index's decisions on hand-made hashes (distances chosen bit by bit),
the frame vote, and the reports' plain-data form recorded in `Generation.Scanned`."""

from __future__ import annotations

from uuid import UUID, uuid4

import numpy as np
import pytest

from domain.faces import MatchDecision
from domain.media_scan import (
    NotConfiguredReferenceEmbedder,
    NotConfiguredSafetyClassifier,
    SafetyDecision,
    WorkMatch,
    WorkScanReport,
)
from inference.perceptual import FrameHashes, PdqReferenceIndex, hamming, trim_borders

pytestmark = pytest.mark.unit

RNG = np.random.default_rng(7)


def random_hash() -> str:
    return bytes(RNG.integers(0, 256, 32, dtype=np.uint8)).hex()


def flipped(hex_hash: str, bits: int) -> str:
    """The hash with its first `bits` bits inverted: exactly that Hamming distance away."""
    value = int(hex_hash, 16) ^ (((1 << bits) - 1) << (256 - bits))
    return f"{value:064x}"


def frames(*hashes: str) -> FrameHashes:
    """One usable frame per hash, half a second apart."""
    words = np.frombuffer(b"".join(bytes.fromhex(h) for h in hashes), np.uint64).reshape(-1, 4)
    index = np.arange(len(hashes))
    return FrameHashes(words, index, index, tuple(i / 2 for i in index), len(hashes))


@pytest.fixture
def index() -> tuple[PdqReferenceIndex, UUID, str]:
    work_id, reference = uuid4(), random_hash()
    idx = PdqReferenceIndex()
    idx.add(work_id, "d" * 64, {"pdq/f0/original": reference, "pdq/f0/mirror": random_hash()})
    idx.add(uuid4(), "e" * 64, {"pdq/f0/original": random_hash()})
    return idx, work_id, reference


def test_flipping_bits_gives_exactly_that_distance():
    reference = random_hash()
    assert [hamming(reference, flipped(reference, n)) for n in (0, 1, 31, 200)] == [0, 1, 31, 200]


def test_frames_within_31_bits_of_a_reference_match_the_work(index):
    idx, work_id, reference = index
    found = idx.match(frames(flipped(reference, 20), flipped(reference, 31), random_hash()))
    assert [(m.work_id, m.decision, m.frames_matched) for m in found] == \
        [(work_id, MatchDecision.MATCH, 2)]
    assert found[0].score == pytest.approx(1 - 20 / 256)
    assert found[0].seconds == (0.0, 0.5)
    assert found[0].method == "pdq" and found[0].reference == "d" * 64


def test_the_band_above_31_bits_and_a_lone_matching_frame_go_to_review(index):
    idx, _, reference = index
    near = idx.match(frames(flipped(reference, 40), flipped(reference, 45), random_hash()))
    assert [(m.decision, m.frames_matched, m.frames_near) for m in near] == \
        [(MatchDecision.REVIEW, 0, 2)]
    lone = idx.match(frames(flipped(reference, 10), *(random_hash() for _ in range(9))))
    assert [(m.decision, m.frames_matched) for m in lone] == [(MatchDecision.REVIEW, 1)]


def test_a_one_frame_clip_that_matches_is_a_match(index):
    idx, _, reference = index
    assert idx.match(frames(flipped(reference, 5)))[0].decision is MatchDecision.MATCH


def test_hashes_beyond_the_review_band_are_not_reported(index):
    idx, _, reference = index
    assert idx.match(frames(flipped(reference, 46), flipped(reference, 128))) == []


def test_a_removed_work_is_never_matched_again_and_rebuild_replaces_everything(index):
    idx, work_id, reference = index
    query = frames(flipped(reference, 3), flipped(reference, 4))
    idx.remove_work(work_id)
    assert idx.match(query) == []
    idx.rebuild([(work_id, "d" * 64, {"pdq/f0/original": reference})])
    assert len(idx) == 1
    assert [m.work_id for m in idx.match(query)] == [work_id]


def test_hashes_of_other_methods_are_ignored():
    idx = PdqReferenceIndex()
    idx.add(uuid4(), "a" * 64, {"tmk/f0": "00" * 32})
    assert len(idx) == 0


def test_flat_bars_are_trimmed_and_a_plain_photo_is_left_alone():
    picture = RNG.integers(0, 256, (200, 200, 3), dtype=np.uint8)
    boxed = np.zeros((200, 400, 3), np.uint8)
    boxed[:, 100:300] = picture
    trimmed = trim_borders(boxed)
    assert trimmed is not None and trimmed.shape[1] == 200
    assert np.array_equal(trimmed, picture)
    assert trim_borders(picture) is None
    assert trim_borders(np.zeros((100, 100, 3), np.uint8)) is None


def test_a_report_is_as_strong_as_its_strongest_match_and_says_what_was_not_checked():
    work = uuid4()
    near = WorkMatch(work, "a" * 64, "pdq", 0.84, MatchDecision.REVIEW, 0, 2, (1.0, 1.5))
    report = WorkScanReport((near,), unchecked=("embedding",), frames_sampled=8,
                            frames_usable=6)
    assert report.decision is MatchDecision.REVIEW and report.configured
    assert WorkScanReport(()).decision is MatchDecision.NO_MATCH
    assert report.as_findings() == {
        "configured": True, "unchecked": ["embedding"], "frames_sampled": 8,
        "frames_usable": 6, "frame_hashes": [], "matches": [{
            "work_id": str(work), "reference": "a" * 64, "method": "pdq", "score": 0.84,
            "decision": "review", "frames_matched": 0, "frames_near": 2,
            "seconds": [1.0, 1.5]}]}
    assert not WorkScanReport((), unchecked=("pdq", "embedding")).configured


def test_without_a_model_safety_fails_closed_and_references_get_no_embedding():
    report = NotConfiguredSafetyClassifier().scan([(0.0, None)])
    assert (report.configured, report.decision) == (False, SafetyDecision.REVIEW)
    assert report.as_findings()["configured"] is False
    assert report.as_findings()["decision"] == "review"
    embedder = NotConfiguredReferenceEmbedder()
    assert not embedder.configured
    assert embedder.embed_reference(b"\x89PNG", "image/png") is None
