"""Geometric edits re-uploaders make to a video, on uint8 (frames, H, W, 3) arrays with
OpenCV: mirrors, crops anywhere, rotations, bars, stretches and picture-in-picture. Shared by
the watermark's unit, integration and end-to-end tests."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np


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
