"""Test media for the protected-work scan, made locally from the photos that ship with
scikit-image: reference images as PNG, and generated-looking H.264 clips that show them
(or not), re-encoded, downscaled and brightened as a video pipeline would."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from PIL import Image
from skimage import data

from adapters.video_io import encode_video
from inference.face_scan import sample_frames

SIZE = (640, 360)
FPS = 12


def photo(name: str) -> np.ndarray:
    """astronaut, coffee, chelsea, rocket, ... as (H, W, 3) uint8 RGB."""
    image = np.asarray(getattr(data, name)())
    return image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)


def png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, "PNG")
    return out.getvalue()


def filled(image: np.ndarray, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The picture stretched over the whole frame."""
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def pillarboxed(image: np.ndarray, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The picture at full height in the middle of a black frame."""
    width, height = size
    inner = round(image.shape[1] * height / image.shape[0])
    frame = np.zeros((height, width, 3), np.uint8)
    left = (width - inner) // 2
    frame[:, left:left + inner] = cv2.resize(image, (inner, height),
                                             interpolation=cv2.INTER_AREA)
    return frame


def clip(scenes: Sequence[tuple[np.ndarray, float]], *, fps: int = FPS) -> bytes:
    """An H.264 clip showing each (frame, seconds) in turn, with a slow drift so that the
    encoder has motion to compress."""
    frames = []
    for frame, seconds in scenes:
        for i in range(round(seconds * fps)):
            frames.append(np.roll(frame, i // 3, axis=1))
    return encode_video(np.stack(frames), fps, crf=23, preset="veryfast")


def degrade(mp4: bytes, *, scale: float = 0.5, brightness: float = 1.2, crf: int = 30) -> bytes:
    """Decode, downscale, brighten by 20% and encode again (a re-upload's damage)."""
    frames = [frame for _, frame in sample_frames(mp4, 1000.0)]
    height, width = frames[0].shape[:2]
    size = (int(width * scale) // 2 * 2, int(height * scale) // 2 * 2)
    worse = [np.clip(cv2.resize(f, size, interpolation=cv2.INTER_AREA) * brightness, 0, 255)
             .astype(np.uint8) for f in frames]
    return encode_video(np.stack(worse), FPS, crf=crf, preset="veryfast")


def sampled(mp4: bytes, fps: float = 2.0) -> list[tuple[float, Any]]:
    """What the pipeline hands the scanners: frames at `fps` with their times."""
    return list(sample_frames(mp4, fps))
