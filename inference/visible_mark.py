"""Visible moving overlay: the platform mark and the creator's handle, drawn once with
Pillow and alpha-blended into every frame along a drifting path (numpy)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class VisibleMarkStyle:
    """How the overlay looks and moves; sizes are fractions of the frame height so a mark
    reads the same at every resolution."""

    platform_text: str = "Consentry · AI-generated"
    opacity: float = 0.65
    text_height: float = 0.045
    margin: float = 0.03
    # Seconds for one sweep across the frame horizontally; vertical sweeps take a
    # different time so the path does not repeat soon and no fixed crop avoids it.
    horizontal_period: float = 7.0
    vertical_period: float = 11.0


class MovingOverlayMarker:
    """Stamps a visible, moving watermark onto RGB frames.

    Technology and why: Pillow renders anti-aliased text with an outline (legible on any
    background) once per video; the per-frame work is a numpy alpha blend of that small
    stamp, so the step costs little next to encoding. The stamp drifts along a slow
    bouncing path, which a static crop or a corner blur cannot remove. It is a separate
    step from the invisible watermark, applied after it, so the invisible mark can be
    read on either version.
    """

    def __init__(self, style: VisibleMarkStyle | None = None) -> None:
        self.style = style or VisibleMarkStyle()

    def stamp(self, handle: str, frame_height: int) -> np.ndarray:
        """The overlay as a float32 RGBA array with alpha in [0, 1]."""
        style = self.style
        size = max(10, round(frame_height * style.text_height))
        font = ImageFont.load_default(size=size)
        lines = [style.platform_text, f"@{handle.lstrip('@')}" if handle else ""]
        lines = [line for line in lines if line]
        stroke = max(1, size // 12)
        probe = ImageDraw.Draw(Image.new("L", (1, 1)))
        boxes = [probe.textbbox((0, 0), line, font=font, stroke_width=stroke) for line in lines]
        width = math.ceil(max(box[2] - box[0] for box in boxes)) + 2 * stroke
        line_height = math.ceil(max(box[3] - box[1] for box in boxes)) + 2 * stroke
        gap = size // 4
        image = Image.new("RGBA", (width, line_height * len(lines) + gap * (len(lines) - 1)))
        draw = ImageDraw.Draw(image)
        for index, (line, box) in enumerate(zip(lines, boxes, strict=True)):
            draw.text(
                (stroke - box[0], index * (line_height + gap) + stroke - box[1]),
                line,
                font=font,
                fill=(255, 255, 255, 255),
                stroke_width=stroke,
                stroke_fill=(0, 0, 0, 255),
            )
        rgba = np.asarray(image, dtype=np.float32) / 255.0
        rgba[..., 3] *= style.opacity
        return rgba

    def position(self, index: int, fps: float, frame: tuple[int, int],
                 stamp: tuple[int, int]) -> tuple[int, int]:
        """Top-left corner (y, x) of the stamp in frame `index`: a triangle wave on each
        axis, so the stamp glides and bounces off the margins."""
        style = self.style
        height, width = frame
        margin = round(style.margin * height)
        room_y = max(0, height - stamp[0] - 2 * margin)
        room_x = max(0, width - stamp[1] - 2 * margin)
        seconds = index / fps if fps > 0 else 0.0

        def sweep(period: float) -> float:
            phase = (seconds / period) % 2.0 if period > 0 else 0.0
            return 1.0 - abs(1.0 - phase)

        return margin + math.floor(room_y * sweep(style.vertical_period)), margin + math.floor(
            room_x * sweep(style.horizontal_period)
        )

    def apply(self, frames: Any, handle: str, fps: float) -> np.ndarray:
        """Return a copy of uint8 (N, H, W, 3) RGB `frames` with the overlay blended in."""
        batch = np.asarray(frames)
        if batch.ndim != 4 or batch.shape[3] != 3 or batch.dtype != np.uint8:
            raise ValueError("frames must be uint8 (N, H, W, 3)")
        height, width = batch.shape[1:3]
        rgba = self.stamp(handle, height)
        # A stamp wider than the frame (very long handle, tiny video) is cut at the edge.
        rgba = rgba[:height, :width]
        stamp_h, stamp_w = rgba.shape[:2]
        colour, alpha = rgba[..., :3] * 255.0, rgba[..., 3:]
        out = batch.copy()
        for index in range(batch.shape[0]):
            top, left = self.position(index, fps, (height, width), (stamp_h, stamp_w))
            region = out[index, top : top + stamp_h, left : left + stamp_w].astype(np.float32)
            blended = region * (1.0 - alpha) + colour * alpha
            out[index, top : top + stamp_h, left : left + stamp_w] = np.rint(blended)
        return out
