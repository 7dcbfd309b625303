"""Cameo owners' reference faces composited into generated frames, one per cameo side by
side, moving gently. Shared by the composite and the diffusers generator: neither model can
take a reference face, and the gate must see the cameos that were asked for."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from domain.generator import CameoReference

FACE_HEIGHT = 0.72  # of the frame: at 360 px a face crop with margin shows a ~130 px face
FACE_ASPECT = 0.8   # width / height of the shown portrait
CENTRE_Y = 0.46     # above the caption band


def decode_reference(reference: CameoReference) -> np.ndarray:
    """RGB pixels of the reference, decoded from memory (it is never written anywhere)."""
    pixels = cv2.imdecode(np.frombuffer(reference.face_png, np.uint8), cv2.IMREAD_COLOR)
    if pixels is None:
        raise ValueError(f"the reference face of cameo {reference.handle!r} is not an image")
    return np.ascontiguousarray(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))


def _cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """The image's centre cut to the target's aspect and resized to it (a face crop with
    margin, or a centred portrait, keeps its face whole)."""
    h, w = image.shape[:2]
    if w * height > h * width:
        cut = round(h * width / height)
        image = image[:, (w - cut) // 2:(w - cut) // 2 + cut]
    else:
        cut = round(w * height / width)
        image = image[(h - cut) // 2:(h - cut) // 2 + cut]
    shrinking = image.shape[0] > height
    return cv2.resize(image, (width, height),
                      interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def _soft_mask(width: int, height: int) -> np.ndarray:
    """A rounded-rectangle alpha (a superellipse) with feathered edges: only the corners
    and the outer few pixels fade, the face in the middle stays opaque."""
    ys = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    d = xs ** 4 + ys ** 4
    return (np.clip((1.0 - d) / 0.25, 0.0, 1.0) * 255).astype(np.uint8)


class CameoFace:
    """One cameo's portrait in its slot: scaled by a few percent and swaying a few pixels
    over time (sub-pixel, through one affine warp per frame), so the clip is video and a
    face tracker sees one track."""

    def __init__(self, pixels: np.ndarray, centre: tuple[float, float], size: tuple[int, int],
                 frame_size: tuple[int, int], phase: float) -> None:
        width, height = size
        self._rgba = np.dstack([_cover(pixels, width, height), _soft_mask(width, height)])
        self._centre = centre
        self._phase = phase
        self._sway = (0.05 * width, 0.025 * height)
        self._zoom = 0.04
        frame_w, frame_h = frame_size
        half_w = width / 2 * (1 + self._zoom) + self._sway[0] + 1
        half_h = height / 2 * (1 + self._zoom) + self._sway[1] + 1
        self._left = max(0, math.floor(centre[0] - half_w))
        self._top = max(0, math.floor(centre[1] - half_h))
        self._right = min(frame_w, math.ceil(centre[0] + half_w))
        self._bottom = min(frame_h, math.ceil(centre[1] + half_h))

    def draw(self, frame: np.ndarray, t: float) -> None:
        height, width = self._rgba.shape[:2]
        scale = 1 + self._zoom * math.sin(2 * math.pi * t / 4.0 + self._phase)
        x = self._centre[0] + self._sway[0] * math.sin(2 * math.pi * t / 5.0 + self._phase)
        y = self._centre[1] + self._sway[1] * math.sin(2 * math.pi * t / 3.0 + 2 * self._phase)
        matrix = np.array([[scale, 0, x - self._left - scale * width / 2],
                           [0, scale, y - self._top - scale * height / 2]], np.float32)
        box = (self._right - self._left, self._bottom - self._top)
        warped = cv2.warpAffine(self._rgba, matrix, box, flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        alpha = warped[:, :, 3:].astype(np.float32) / 255
        region = frame[self._top:self._bottom, self._left:self._right]
        mixed = region + (warped[:, :, :3].astype(np.float32) - region) * alpha
        region[:] = mixed.astype(np.uint8)


def cameo_faces(cameos: Sequence[CameoReference], width: int, height: int,
                seed: int = 0) -> list[CameoFace]:
    """Each cameo in its own slot of equal width, left to right in request order (a
    reference without a face, one that lends only a voice, takes no slot)."""
    cameos = [reference for reference in cameos if reference.face_png]
    if not cameos:
        return []
    slot = width / len(cameos)
    face_h = round(height * FACE_HEIGHT)
    face_w = round(min(0.86 * slot, face_h * FACE_ASPECT))
    face_h = min(face_h, round(face_w / FACE_ASPECT))
    return [CameoFace(decode_reference(reference), ((i + 0.5) * slot, height * CENTRE_Y),
                      (face_w, face_h), (width, height), phase=(seed % 97 + 1.7 * i) % 6.283)
            for i, reference in enumerate(cameos)]
