"""The invisible watermark and the visible overlay, on clips made from scikit-image's
bundled natural images (no codec involved; see tests/integration for re-encoding)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from PIL import Image
from skimage import data

from domain.provenance import Watermarker, WatermarkError
from inference.visible_mark import MovingOverlayMarker, VisibleMarkStyle
from inference.watermark import (
    DctSpreadSpectrumWatermarker,
    log10_false_positive,
    log10_soft_false_positive,
)
from inference.watermark_code import standardise

pytestmark = pytest.mark.unit

KEY = b"unit-test-watermark-key-0123456789"
PAYLOAD = bytes.fromhex("0badc0ffee42")


def natural_clip(
    image: np.ndarray, frames: int = 6, size: tuple[int, int] = (360, 640)
) -> np.ndarray:
    """A short clip panning slowly across a natural image, resized to `size` (h, w)."""
    height, width = size
    big = np.asarray(Image.fromarray(image).resize((width + 4 * frames, height)))
    return np.stack([big[:, 4 * t : 4 * t + width] for t in range(frames)])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b) ** 2).mean())
    return 10 * math.log10(255**2 / mse)


@pytest.fixture(scope="module")
def marker() -> DctSpreadSpectrumWatermarker:
    return DctSpreadSpectrumWatermarker(KEY)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return natural_clip(data.astronaut())


def test_the_watermarker_satisfies_the_domain_port(marker: DctSpreadSpectrumWatermarker) -> None:
    port: Watermarker = marker
    assert port.payload_bytes == 6


def test_embedding_keeps_shape_and_type_and_stays_above_40_db(marker, clip) -> None:
    marked = marker.embed(clip, PAYLOAD)
    assert marked.shape == clip.shape and marked.dtype == np.uint8
    assert psnr(clip, marked) >= 40.0


def test_a_marked_clip_gives_back_its_payload_with_a_negligible_false_positive_chance(
    marker, clip
) -> None:
    reading = marker.detect(marker.embed(clip, PAYLOAD))
    assert reading.payload == PAYLOAD
    assert reading.confidence == 1.0
    assert reading.false_positive_probability < 1e-12


def test_an_unmarked_clip_yields_no_payload(marker, clip) -> None:
    reading = marker.detect(clip)
    assert reading.payload is None
    assert reading.false_positive_probability > 1e-6


def test_another_key_reads_nothing_from_a_marked_clip(marker, clip) -> None:
    stranger = DctSpreadSpectrumWatermarker(b"someone-else's-key-0123456789")
    assert stranger.detect(marker.embed(clip, PAYLOAD)).payload is None


def test_black_and_flat_videos_yield_no_payload(marker) -> None:
    for level in (0, 128, 255):
        flat = np.full((4, 180, 320, 3), level, dtype=np.uint8)
        assert marker.detect(flat).payload is None


def test_marking_is_deterministic_per_payload_and_differs_between_payloads(marker, clip) -> None:
    first = marker.embed(clip, PAYLOAD)
    assert np.array_equal(first, marker.embed(clip, PAYLOAD))
    assert not np.array_equal(first, marker.embed(clip, bytes(6)))


def test_payloads_spread_over_per_video_seeds_with_nearly_uncorrelated_patterns(marker) -> None:
    payloads = [i.to_bytes(6, "big") for i in range(64)]
    assert len({marker.seed_for(p) for p in payloads}) > 8
    a, b = (marker.pattern(p, 360, 640).ravel() for p in payloads[:2])
    assert abs(float(np.corrcoef(a, b)[0, 1])) < 0.1


def test_averaging_many_marked_videos_does_not_reveal_any_one_pattern(marker) -> None:
    patterns = [marker.pattern(i.to_bytes(6, "big"), 180, 320).ravel() for i in range(48)]
    average = np.mean(patterns, axis=0)
    # A pattern shared by all videos would correlate fully with the average.
    assert max(abs(float(np.corrcoef(average, p)[0, 1])) for p in patterns) < 0.5


def test_luma_only_frames_are_marked_and_read_too(marker, clip) -> None:
    luma = (clip.astype(np.float32) @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    assert marker.detect(marker.embed(luma, PAYLOAD)).payload == PAYLOAD


def test_the_payload_survives_a_centred_crop_of_90_percent_resized_back(marker) -> None:
    frames = natural_clip(data.coffee())
    marked = marker.embed(frames, PAYLOAD)
    height, width = frames.shape[1:3]
    top, left = round(height * 0.05), round(width * 0.05)
    cropped = np.stack(
        [
            np.asarray(
                Image.fromarray(f[top : height - top, left : width - left]).resize(
                    (width, height), Image.Resampling.BILINEAR
                )
            )
            for f in marked
        ]
    )
    assert marker.detect(cropped).payload == PAYLOAD


def test_the_payload_survives_a_downscale_to_half_without_upscaling_back(marker) -> None:
    marked = marker.embed(natural_clip(data.chelsea()), PAYLOAD)
    small = np.stack(
        [np.asarray(Image.fromarray(f).resize((320, 180), Image.Resampling.BOX)) for f in marked]
    )
    assert marker.detect(small).payload == PAYLOAD


def test_the_payload_survives_twenty_percent_more_brightness(marker, clip) -> None:
    brighter = np.clip(marker.embed(clip, PAYLOAD).astype(np.float32) * 1.2, 0, 255)
    assert marker.detect(brighter.astype(np.uint8)).payload == PAYLOAD


def test_a_portrait_video_is_marked_and_read(marker) -> None:
    portrait = natural_clip(data.astronaut(), size=(640, 360))
    assert marker.detect(marker.embed(portrait, PAYLOAD)).payload == PAYLOAD


def test_frame_accuracy_is_perfect_on_a_pristine_mark_and_near_chance_without_one(
    marker, clip
) -> None:
    assert marker.frame_bit_accuracy(marker.embed(clip, PAYLOAD), PAYLOAD).min() == 1.0
    assert 0.3 < marker.frame_bit_accuracy(clip, PAYLOAD).mean() < 0.7


def test_payloads_of_the_wrong_size_and_non_uint8_frames_are_refused(marker, clip) -> None:
    with pytest.raises(WatermarkError):
        marker.embed(clip, b"short")
    with pytest.raises(WatermarkError):
        marker.embed(clip.astype(np.float32), PAYLOAD)
    with pytest.raises(WatermarkError):
        DctSpreadSpectrumWatermarker(b"too-short")


def test_the_false_positive_bound_falls_as_more_codeword_symbols_match() -> None:
    bounds = [log10_false_positive(a, 20, 3) for a in range(21)]
    assert all(later < earlier for earlier, later in itertools.pairwise(bounds))
    # A random word matches ~20/64 positions: the bound is then vacuous, as it should be.
    assert bounds[1] > 0
    # The acceptance point: 15 of 20 positions keep three hypotheses under one in a million.
    assert bounds[15] <= -6 < bounds[14]


def test_the_bound_pays_for_the_grid_and_each_sync_chosen_read(marker) -> None:
    assert marker.hypotheses == 3
    assert DctSpreadSpectrumWatermarker(KEY, sync_candidates=4).hypotheses == 5
    assert DctSpreadSpectrumWatermarker(KEY, registration=False).hypotheses == 1


def test_unmarked_reads_are_uniform_over_the_64_symbol_values(clip) -> None:
    """The null model behind the bound: without a mark, each position reads each value
    with probability 1/64, on the unedited grid and at the alignments the sync pattern
    chose. Checked over many keys on one short unmarked clip."""
    codeword = DctSpreadSpectrumWatermarker(KEY)._code.encode(PAYLOAD)
    small = np.stack([np.asarray(Image.fromarray(f).resize((320, 180))) for f in clip[:2]])
    hits = trials = 0
    for key_index in range(60):
        other = DctSpreadSpectrumWatermarker(f"null-model-key-{key_index:04d}-padding".encode())
        reads = other._reads(other._residuals(small))
        for scores in other._seed_scores(reads, key_index % 16):
            hits += int(np.count_nonzero(scores.sum(axis=0).argmax(axis=1) == codeword))
            trials += codeword.size
    rate = hits / trials
    assert trials == 60 * 3 * 20  # the grid and two sync-chosen reads per seed
    assert abs(rate - 1 / 64) < 5 * math.sqrt(1 / 64 * 63 / 64 / trials)


def test_the_visible_mark_moves_across_frames_and_shows_the_handle(clip) -> None:
    overlay = MovingOverlayMarker(VisibleMarkStyle(horizontal_period=0.5, vertical_period=0.7))
    stamped = overlay.apply(clip, "maria_dev", fps=10.0)
    changed = [np.argwhere((stamped[i] != clip[i]).any(axis=2)) for i in (0, 3)]
    assert all(len(c) > 100 for c in changed)
    assert not np.array_equal(changed[0].min(axis=0), changed[1].min(axis=0))
    # The handle adds a second line under the platform mark.
    assert overlay.stamp("maria_dev", 360).shape[0] > overlay.stamp("", 360).shape[0]


def test_the_invisible_mark_survives_the_visible_overlay_applied_after_it(marker, clip) -> None:
    stamped = MovingOverlayMarker().apply(marker.embed(clip, PAYLOAD), "maria_dev", fps=30.0)
    assert marker.detect(stamped).payload == PAYLOAD


def test_the_soft_bound_accepts_a_weak_mark_that_the_match_count_misses() -> None:
    """After H.264 at CRF 33 the right value often comes second: the match count throws
    that away, the sum of standardised votes keeps it."""
    rng = np.random.default_rng(5)
    codeword = rng.integers(0, 64, 20)
    vote = rng.normal(0, 1, (20, 64))
    vote[np.arange(20), codeword] += 2.2
    agreements = int((vote.argmax(axis=1) == codeword).sum())
    z = standardise(vote)
    total = float(z[np.arange(20), codeword].sum())
    assert log10_false_positive(agreements, 20, 5) > -6
    assert log10_soft_false_positive(z, total, 5) < -6


def test_the_soft_bound_is_a_valid_p_value_on_simulated_unmarked_votes() -> None:
    """Without a mark a codeword picks a uniform one of each position's 64 votes (heavy
    tailed here): the bound, without its union factor, is at most x at most x of the time."""
    rng = np.random.default_rng(11)
    union = 48 * math.log10(2)
    p_values = []
    for _ in range(2000):
        z = standardise(rng.standard_t(3, (20, 64)))
        codeword = rng.integers(0, 64, 20)
        total = float(z[np.arange(20), codeword].sum())
        p_values.append(10 ** (log10_soft_false_positive(z, total, 1) - union))
    p = np.array(p_values)
    for level in (0.01, 0.05, 0.2, 0.5):
        assert (p <= level).mean() <= level


def test_a_payload_read_under_another_seed_than_its_own_is_refused(marker, clip) -> None:
    """The seed search is free of false-positive cost only because a payload counts under
    its own seed alone: a clip marked under another seed reads nothing."""
    forger = DctSpreadSpectrumWatermarker(KEY)
    own = marker.seed_for(PAYLOAD)
    forger.seed_for = lambda payload: (own + 1) % 16  # type: ignore[method-assign]
    assert marker.detect(forger.embed(clip, PAYLOAD)).payload is None
    assert marker.detect(marker.embed(clip, PAYLOAD)).payload == PAYLOAD


def test_masking_puts_more_of_the_mark_on_flat_areas_at_the_same_psnr(marker) -> None:
    half_flat = natural_clip(data.astronaut(), frames=2)
    half_flat[:, :, :320] = 128
    offset = marker.embed(half_flat, PAYLOAD).astype(np.float32) - half_flat
    flat, textured = offset[:, 40:-40, 40:280], offset[:, 40:-40, 360:600]
    assert np.sqrt((flat**2).mean()) > 1.3 * np.sqrt((textured**2).mean())
    assert psnr(half_flat, marker.embed(half_flat, PAYLOAD)) >= 40.0
