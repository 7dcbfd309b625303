"""The invisible watermark under the geometric edits re-uploaders use: mirroring, crops
anywhere, small rotations, aspect changes and picture-in-picture (no codec here; with H.264
in tests/integration/test_video_watermark.py). Clips come from scikit-image's images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data

from inference.watermark import DctSpreadSpectrumWatermarker
from tests.media_edits import EDITS, inset

pytestmark = pytest.mark.unit

KEY = b"unit-test-geometry-key-0123456789"
PAYLOAD = bytes.fromhex("5eedc0ffee01")


def panning_clip(image: np.ndarray, frames: int = 6, size: tuple[int, int] = (360, 640)
                 ) -> np.ndarray:
    height, width = size
    big = np.asarray(Image.fromarray(image).resize((width + 3 * frames, height)))
    return np.stack([big[:, 3 * t : 3 * t + width] for t in range(frames)])


@pytest.fixture(scope="module")
def marker() -> DctSpreadSpectrumWatermarker:
    return DctSpreadSpectrumWatermarker(KEY)


@pytest.fixture(scope="module")
def marked(marker) -> np.ndarray:
    return marker.embed(panning_clip(data.coffee()), PAYLOAD)


@pytest.mark.parametrize("edit", list(EDITS))
def test_the_payload_survives_a_geometric_edit(marker, marked, edit) -> None:
    reading = marker.detect(EDITS[edit](marked))
    assert reading.payload == PAYLOAD
    assert reading.false_positive_probability < 1e-6


def test_the_payload_survives_being_inset_at_three_quarters_into_another_video(
    marker, marked
) -> None:
    background = panning_clip(data.chelsea())
    reading = marker.detect(inset(marked, background, 0.75, 0.9, 0.2))
    assert reading.payload == PAYLOAD


def test_without_registration_a_mirrored_copy_reads_nothing(marked) -> None:
    """The unedited-grid hypothesis alone (the detector before synchronisation) is blind
    to a mirror: what finds it is the registration."""
    grid_only = DctSpreadSpectrumWatermarker(KEY, registration=False)
    assert grid_only.detect(marked).payload == PAYLOAD
    assert grid_only.detect(marked[:, :, ::-1]).payload is None


@pytest.mark.parametrize("edit", ["mirrored left-right", "rotated 5 degrees, zoomed to fill",
                                  "70% crop at the top left, kept small"])
def test_an_unmarked_clip_edited_the_same_way_reads_nothing(marker, edit) -> None:
    reading = marker.detect(EDITS[edit](panning_clip(data.rocket())))
    assert reading.payload is None
    assert reading.false_positive_probability > 1e-6
