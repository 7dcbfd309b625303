"""Real face photos that ship inside installed packages, their degradations, and short
H.264 clips built from them with PyAV, for the face tests."""

from __future__ import annotations

import importlib.util
import io
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, f"{name} is not installed"
    return Path(next(iter(spec.submodule_search_locations)))


def _read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


@cache
def astronaut() -> np.ndarray:
    """Eileen Collins (scikit-image's `astronaut`, public domain NASA photo)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@cache
def grace_hopper() -> np.ndarray:
    """Grace Hopper (matplotlib's sample data)."""
    return _read_rgb(_package_dir("matplotlib") / "mpl-data/sample_data/grace_hopper.jpg")


@cache
def group_photo() -> np.ndarray:
    """insightface's `t1.jpg`: six people side by side."""
    return _read_rgb(_package_dir("insightface") / "data/images/t1.jpg")


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


def clip(frames: list[np.ndarray], fps: float = 10, crf: int = 23,
         audio: np.ndarray | None = None, audio_rate: int = 16_000) -> bytes:
    """An in-memory MP4 (H.264 yuv420p, optional mono AAC) of the given RGB frames."""
    height, width = frames[0].shape[0] & ~1, frames[0].shape[1] & ~1
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": str(crf), "preset": "veryfast"}
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=audio_rate)
            sound.layout = "mono"
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]),
                                               format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None and audio is not None:
            samples = np.ascontiguousarray(audio.astype(np.float32)[None, :])
            chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            chunk.sample_rate = audio_rate
            container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return buffer.getvalue()


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
