"""Evidence as reviewers first see it: blurred and in grayscale unless they chose to see an
item as it is. The filtering happens here, on the server: the unfiltered pixels never reach
the browser unless asked for (a CSS blur would send them anyway)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from adapters.video_io import DecodeLimits, PyAvVideoCodec

# The blur: a frame scaled down to this many pixels across and back up, then smoothed, so
# shapes and colours stay readable and faces and detail do not.
BLUR_WIDTH = 24
# Evidence videos are our own renders, short and small; these bounds only keep a bad file
# from costing much.
VIDEO_LIMITS = DecodeLimits(max_seconds=60.0, max_width=1920, max_height=1920,
                            max_pixels=1920 * 1080)
PREVIEW_LINES = 360  # filtered videos are re-encoded at this height at most


@dataclass(frozen=True)
class Shown:
    """How an item is delivered: blurred, in grayscale, or as it is."""

    blur: bool
    grayscale: bool

    @property
    def filtered(self) -> bool:
        return self.blur or self.grayscale


def _filter(frame: np.ndarray, shown: Shown) -> np.ndarray:
    out = frame
    if shown.grayscale:
        gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        out = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    if shown.blur:
        height, width = out.shape[:2]
        small_h = max(1, round(height * BLUR_WIDTH / max(1, width)))
        small = cv2.resize(out, (BLUR_WIDTH, small_h), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        kernel = max(3, (width // BLUR_WIDTH) | 1)
        out = cv2.GaussianBlur(out, (kernel, kernel), 0)
    return out


def filtered_image(data: bytes, shown: Shown) -> bytes:
    """A JPEG of the image with the filter applied (the image as it is when none is)."""
    if not shown.filtered:
        return data
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError("the evidence image does not decode")
    rgb = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    ok, out = cv2.imencode(".jpg", cv2.cvtColor(_filter(rgb, shown), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError("could not encode the filtered image")
    return bytes(out)


def filtered_video(data: bytes, shown: Shown) -> bytes:
    """An MP4 of the video with the filter on every frame (the video as it is when none
    is), at most PREVIEW_LINES high."""
    if not shown.filtered:
        return data
    codec = PyAvVideoCodec(VIDEO_LIMITS)
    video = codec.decode(data, fit_lines=PREVIEW_LINES)
    frames = np.stack([_filter(f, shown) for f in video.frames])
    return codec.encode_h264(frames, video.fps or 24.0, crf=30, preset="veryfast")
