"""Visible moving overlay: a mirror-proof "AI" badge, the platform mark and the creator's
handle, drawn once with Pillow and alpha-blended into every frame along a drifting path
(numpy); and a finder that tells whether a copy still shows it, mirrored or not (OpenCV)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from domain.provenance import VisibleMarkSighting


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
    # "A" over "I" in a box: both letters are their own mirror image and a left-right
    # mirror keeps their order top to bottom, so a mirrored copy still reads "AI".
    badge: bool = True


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
        """The overlay as a float32 RGBA array with alpha in [0, 1]: the badge, then the
        platform text over the handle."""
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
        height = line_height * len(lines) + gap * (len(lines) - 1)
        badge = _badge(font, stroke, height) if style.badge else None
        left = badge.width + gap if badge is not None else 0
        image = Image.new("RGBA", (left + width, height))
        if badge is not None:
            image.paste(badge, (0, 0))
        draw = ImageDraw.Draw(image)
        for index, (line, box) in enumerate(zip(lines, boxes, strict=True)):
            draw.text(
                (left + stroke - box[0], index * (line_height + gap) + stroke - box[1]),
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


def _badge(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, stroke: int, height: int
           ) -> Image.Image:
    """A box as tall as the text block with "A" stacked over "I", made exactly left-right
    symmetric (its left half mirrored onto its right), so a mirror leaves it unchanged."""
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    letters = [probe.textbbox((0, 0), letter, font=font, stroke_width=stroke)
               for letter in ("A", "I")]
    inner = math.ceil(max(box[2] - box[0] for box in letters))
    width = inner + 6 * stroke + 2
    width += width % 2  # an even width puts the axis between two pixel columns
    image = Image.new("RGBA", (width, height))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, height - 1), outline=(255, 255, 255, 255),
                   width=max(1, stroke), fill=(0, 0, 0, 160))
    slot = height / 2
    for index, (letter, box) in enumerate(zip(("A", "I"), letters, strict=True)):
        x = (width - (box[2] - box[0])) / 2 - box[0]
        y = index * slot + (slot - (box[3] - box[1])) / 2 - box[1]
        draw.text((x, y), letter, font=font, fill=(255, 255, 255, 255), stroke_width=stroke,
                  stroke_fill=(0, 0, 0, 255))
    pixels = np.asarray(image).copy()
    pixels[:, width // 2 :] = pixels[:, : width // 2][:, ::-1]
    return Image.fromarray(pixels)


# Scores (best normalised correlation) from which the text and the badge count as seen.
# Measured by benchmarks.visible_mark (docs/provenance.md): the text scored 0.68-0.92 where
# it was drawn and at most 0.37 elsewhere (a mirrored copy included), the badge 0.99-1.00
# where drawn and up to 0.75 on pictures that never had it.
TEXT_SEEN = 0.5
BADGE_SEEN = 0.9


class StampFinder:
    """Finds a known stamp in luma frames by normalised cross-correlation (OpenCV's
    matchTemplate) over a few sizes, since a copy may be rescaled or cropped; the stamp's
    path is not assumed, so trimmed copies are searched the same way. The stamp is drawn at
    `published_height` (the worker publishes 360 lines) and scaled. Scores: the stamp as
    drawn (`upright`) and mirrored left-right (`mirrored`), and the badge alone, which reads
    the same either way; each the best over positions, sizes and the sampled frames."""

    def __init__(self, marker: MovingOverlayMarker | None = None,
                 scales: tuple[float, ...] = (0.75, 1.0, 1.2, 1.45),
                 angles: tuple[float, ...] = (0.0,),
                 frames: int = 6, published_height: int = 360) -> None:
        self.marker = marker or MovingOverlayMarker()
        self.published_height = published_height
        self.scales = scales
        self.angles = angles
        self.frames = frames

    def sight(self, luma: Any, handle: str) -> VisibleMarkSighting:
        """`luma`: uint8 (N, H, W) frames of the copy, any size. At each of `angles` in turn
        (upright only by default: turned templates did not find the stamp in rotated and
        cropped copies, and raised the scores of pictures without it) until it is seen."""
        batch = np.asarray(luma)
        picks = np.linspace(0, batch.shape[0] - 1, min(self.frames, batch.shape[0]))
        sample = [batch[i].astype(np.float32) for i in picks.round().astype(np.int64)]
        best = {"upright": 0.0, "mirrored": 0.0, "badge": 0.0}
        for angle in self.angles:
            self._search(sample, handle, angle, best)
            if _state(best) != "missing":
                break
        return VisibleMarkSighting(_state(best), best["upright"], best["mirrored"],
                                   best["badge"])

    def _search(self, sample: list[np.ndarray], handle: str, angle: float,
                best: dict[str, float]) -> None:
        height, width = sample[0].shape
        # Drawn at the size it was published at, then scaled as a resized copy scales it.
        stamp = self.marker.stamp(handle, self.published_height)
        badge_width = _badge_width(stamp)
        drawn = _luma_template(stamp)
        for scale in self.scales:
            factor = scale * height / self.published_height
            size = (max(1, round(drawn.shape[1] * factor)), max(1, round(drawn.shape[0] * factor)))
            template = cv2.resize(drawn, size, interpolation=cv2.INTER_AREA if factor < 1
                                  else cv2.INTER_LINEAR)
            cut = max(1, round(badge_width * factor))
            templates = {"upright": template, "mirrored": template[:, ::-1],
                         "badge": template[:, :cut]}
            for name, unturned in templates.items():
                pattern = _turned(unturned, angle)
                if pattern.shape[0] >= height or pattern.shape[1] >= width \
                        or pattern.std() == 0:
                    continue
                for frame in sample:
                    score = float(cv2.matchTemplate(frame, pattern, cv2.TM_CCOEFF_NORMED).max())
                    best[name] = max(best[name], score)


def _state(best: dict[str, float]) -> str:
    upright, mirrored, badge = best["upright"], best["mirrored"], best["badge"]
    if upright >= TEXT_SEEN and upright >= mirrored:
        return "readable"
    if mirrored >= TEXT_SEEN:
        return "mirrored"
    return "badge" if badge >= BADGE_SEEN else "missing"


def _turned(pattern: np.ndarray, degrees: float) -> np.ndarray:
    """The template rotated about its centre on a canvas that holds it, corners mid grey."""
    if not degrees:
        return np.ascontiguousarray(pattern)
    height, width = pattern.shape
    angle = math.radians(abs(degrees))
    size = (math.ceil(width * math.cos(angle) + height * math.sin(angle)),
            math.ceil(width * math.sin(angle) + height * math.cos(angle)))
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    matrix[:, 2] += ((size[0] - width) / 2, (size[1] - height) / 2)
    return cv2.warpAffine(np.ascontiguousarray(pattern), matrix, size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=128.0)


def _luma_template(stamp: np.ndarray) -> np.ndarray:
    """The stamp as it shows over mid grey, in luma."""
    colour, alpha = stamp[..., :3] * 255.0, stamp[..., 3:]
    composed = colour * alpha + 128.0 * (1 - alpha)
    return (composed @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.float32)


def _badge_width(stamp: np.ndarray) -> int:
    """Columns of the badge at the stamp's left: up to the first (nearly) clear column."""
    clear = np.flatnonzero(stamp[..., 3].max(axis=0) < 0.05)
    return int(clear[0]) if clear.size else stamp.shape[1]
