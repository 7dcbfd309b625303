"""The visible mark under mirroring: its "AI" badge reads the same in a mirrored copy, and
the finder tells a copy that shows the mark as drawn, mirrored, or not at all."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter
from skimage import data

from inference.visible_mark import MovingOverlayMarker, StampFinder

pytestmark = pytest.mark.unit
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def clip(image: np.ndarray, frames: int = 12) -> np.ndarray:
    big = np.asarray(Image.fromarray(image).resize((640 + 2 * frames, 360)))
    return np.stack([big[:, 2 * t : 2 * t + 640] for t in range(frames)])


def luma(frames: np.ndarray) -> np.ndarray:
    return (frames.astype(np.float32) @ LUMA).astype(np.uint8)


@pytest.fixture(scope="module")
def finder() -> StampFinder:
    return StampFinder()


@pytest.fixture(scope="module")
def plain() -> np.ndarray:
    return clip(data.coffee())


@pytest.fixture(scope="module")
def stamped(plain) -> np.ndarray:
    return MovingOverlayMarker().apply(plain, "maria_dev", fps=24.0)


def test_the_ai_badge_is_its_own_mirror_image() -> None:
    stamp = MovingOverlayMarker().stamp("maria_dev", 360)
    badge_width = int(np.flatnonzero(stamp[..., 3].max(axis=0) < 0.05)[0])
    badge = stamp[:, :badge_width]
    assert badge_width > 10
    assert np.array_equal(badge, badge[:, ::-1])
    assert not np.array_equal(stamp, stamp[:, ::-1])  # the text is not


def test_a_stamped_clip_shows_its_mark_as_drawn(finder, stamped) -> None:
    sighting = finder.sight(luma(stamped), "maria_dev")
    assert sighting.state == "readable"
    assert sighting.upright > sighting.mirrored


def test_a_mirrored_copy_shows_the_mark_mirrored_with_the_badge_intact(finder, stamped) -> None:
    sighting = finder.sight(luma(stamped[:, :, ::-1]), "maria_dev")
    assert sighting.state == "mirrored"
    assert sighting.mirrored > sighting.upright
    assert sighting.badge > 0.9


def test_a_copy_without_the_mark_or_with_it_blurred_away_is_missing_it(finder, plain,
                                                                      stamped) -> None:
    assert finder.sight(luma(plain), "maria_dev").state == "missing"
    blurred = np.stack([np.asarray(Image.fromarray(f).filter(ImageFilter.GaussianBlur(6)))
                        for f in stamped])
    assert finder.sight(luma(blurred), "maria_dev").state == "missing"


def test_another_creators_handle_does_not_read_as_this_one(finder, stamped) -> None:
    assert finder.sight(luma(stamped), "someone_else_entirely").upright < \
        finder.sight(luma(stamped), "maria_dev").upright
