"""Real face photos that ship inside installed packages, their degradations, and short
H.264 clips built from them with PyAV, for the face tests."""

from __future__ import annotations

import importlib.util
import io
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np

from api import demo_media


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, f"{name} is not installed"
    return Path(next(iter(spec.submodule_search_locations)))


def _read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


astronaut = cache(demo_media.astronaut)
group_photo = cache(demo_media.group_photo)


@cache
def grace_hopper() -> np.ndarray:
    """Grace Hopper (matplotlib's sample data)."""
    return _read_rgb(_package_dir("matplotlib") / "mpl-data/sample_data/grace_hopper.jpg")


def downscale(image: np.ndarray, factor: float = 0.6) -> np.ndarray:
    size = (round(image.shape[1] * factor), round(image.shape[0] * factor))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def jpeg(image: np.ndarray, quality: int = 30) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    assert ok and decoded is not None
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def rotate(image: np.ndarray, degrees: float = 10.0) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)


def blur(image: np.ndarray, sigma: float = 4.0) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma)


def h264(image: np.ndarray, crf: int = 35) -> np.ndarray:
    """The image after an H.264 round trip: a short still clip, its last frame decoded
    (the most compressed one, predicted from the others)."""
    decoded = decode_all(clip([image] * 6, fps=6, crf=crf))
    return decoded[-1][1]


clip = demo_media.clip


def decode_all(data: bytes) -> list[tuple[float, np.ndarray]]:
    with av.open(io.BytesIO(data), mode="r") as container:
        return [(float(frame.time or 0.0), frame.to_ndarray(format="rgb24"))
                for frame in container.decode(video=0)]


def on_canvas(face: np.ndarray, width: int = 640, height: int = 360, left: int = 40,
              top: int = 20, background: int = 90) -> np.ndarray:
    """The photo pasted on a plain frame of a video-like size."""
    canvas = np.full((height, width, 3), background, dtype=np.uint8)
    h, w = min(face.shape[0], height - top), min(face.shape[1], width - left)
    canvas[top:top + h, left:left + w] = face[:h, :w]
    return canvas
