"""The invisible watermark under the geometric edits re-uploaders use: mirroring, crops
anywhere, small rotations, aspect changes and picture-in-picture (no codec here; with H.264
in tests/integration/test_video_watermark.py). Clips come from scikit-image's images."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from inference.watermark import DctSpreadSpectrumWatermarker

pytestmark = pytest.mark.unit

KEY = b"unit-test-geometry-key-0123456789"
PAYLOAD = bytes.fromhex("5eedc0ffee01")


def panning_clip(image: np.ndarray, frames: int = 6, size: tuple[int, int] = (360, 640)
                 ) -> np.ndarray:
    height, width = size
    big = np.asarray(Image.fromarray(image).resize((width + 3 * frames, height)))
    return np.stack([big[:, 3 * t : 3 * t + width] for t in range(frames)])


def each(frames: np.ndarray, edit: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.stack([edit(frame) for frame in frames])


def crop(frames: np.ndarray, keep: float, left: float, top: float, resize: bool) -> np.ndarray:
    """Keep `keep` of the width and height at a relative position; resize back or not."""
    height, width = frames.shape[1:3]
    h, w = round(height * keep), round(width * keep)
    y, x = round((height - h) * top), round((width - w) * left)
    cut = frames[:, y : y + h, x : x + w]
    return each(cut, lambda f: cv2.resize(f, (width, height))) if resize else cut


def rotate(frames: np.ndarray, degrees: float, fill: bool) -> np.ndarray:
    """Rotate about the centre; `fill` zooms in until no corner shows (what editors do)."""
    height, width = frames.shape[1:3]
    angle = math.radians(abs(degrees))
    zoom = math.cos(angle) + width / height * math.sin(angle) if fill else 1.0
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, zoom)
    return each(frames, lambda f: cv2.warpAffine(f, matrix, (width, height)))


def inset(frames: np.ndarray, background: np.ndarray, scale: float, left: float, top: float
          ) -> np.ndarray:
    """Picture-in-picture: `frames` scaled by `scale` into a copy of `background`."""
    height, width = background.shape[1:3]
    h, w = round(frames.shape[1] * scale), round(frames.shape[2] * scale)
    y, x = round((height - h) * top), round((width - w) * left)
    out = background.copy()
    out[:, y : y + h, x : x + w] = each(
        frames, lambda f: cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA))
    return out


def bars(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """Letterbox or pillarbox: the frames centred on black of the given size."""
    out = np.zeros((frames.shape[0], height, width, 3), dtype=np.uint8)
    y, x = (height - frames.shape[1]) // 2, (width - frames.shape[2]) // 2
    out[:, y : y + frames.shape[1], x : x + frames.shape[2]] = frames
    return out


EDITS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mirrored left-right": lambda f: f[:, :, ::-1],
    "mirrored upside down": lambda f: f[:, ::-1],
    "turned half a turn": lambda f: f[:, ::-1, ::-1],
    "70% crop at the top left, kept small": lambda f: crop(f, 0.7, 0.0, 0.0, resize=False),
    "70% crop at the bottom right, resized back": lambda f: crop(f, 0.7, 1.0, 1.0, True),
    "rotated 5 degrees, zoomed to fill": lambda f: rotate(f, 5, fill=True),
    "rotated -4 degrees, corners black": lambda f: rotate(f, -4, fill=False),
    "letterboxed into 4:3": lambda f: bars(f, 480, 640),
    "pillarboxed into 2.4:1": lambda f: bars(f, 360, 864),
    "squeezed to 4:3": lambda f: each(f, lambda x: cv2.resize(x, (480, 360))),
    "stretched to 640x480": lambda f: each(f, lambda x: cv2.resize(x, (640, 480))),
    "mirrored, cropped to 80% and rotated 3 degrees": lambda f: rotate(
        crop(f[:, :, ::-1], 0.8, 0.3, 0.7, resize=True), 3, fill=True),
}


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
