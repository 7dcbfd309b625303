"""Clips and attacks for benchmarks.watermark: camera moves over scikit-image's photos (and a
real clip), codec and photometric attacks, and the geometric edits re-uploaders make (from
tests/media_edits.py, sized to each clip), alone and followed by H.264 at CRF 28."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from skimage import data as images

from adapters.video_io import PyAvVideoCodec, encode_video
from tests.media_edits import bars, crop, each, inset, rotate

CODEC = PyAvVideoCodec()
Attack = Callable[[np.ndarray, float], np.ndarray]


@dataclass
class Clip:
    name: str
    frames: np.ndarray
    fps: float

    @property
    def size(self) -> str:
        return f"{self.frames.shape[2]}x{self.frames.shape[1]}"


def camera_move(
    image: np.ndarray, size: tuple[int, int], frames: int, pan: float, zoom: float, grain: float,
    seed: int,
) -> np.ndarray:
    """A clip of a natural image under a camera move: `pan` pixels per frame (at 360p
    scale), `zoom` total over the clip, plus Gaussian sensor grain."""
    height, width = size
    scale = height / 360
    canvas = cv2.resize(image, (int(width * 1.3), int(height * 1.3)), interpolation=cv2.INTER_AREA)
    canvas = canvas.astype(np.float32)
    rng = np.random.default_rng(seed)
    out = []
    for t in range(frames):
        magnify = 1 + zoom * t / max(1, frames - 1)
        centre_x = canvas.shape[1] / 2 + pan * scale * (t - frames / 2)
        centre_y = canvas.shape[0] / 2
        step = 1 / magnify
        warp = np.array(
            [[step, 0, centre_x - step * width / 2], [0, step, centre_y - step * height / 2]],
            dtype=np.float32,
        )
        frame = cv2.warpAffine(
            canvas, warp, (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT,
        )
        if grain:
            frame += rng.normal(0, grain, frame.shape[:2]).astype(np.float32)[..., None]
        out.append(np.clip(frame, 0, 255).astype(np.uint8))
    return np.stack(out)


# Camera moves for the clips built from scikit-image's natural images: static with grain,
# a slow pan, a zoom-in, and a faster pan (the hardest case for a static mark under H.264).
MOVES = (
    ("astronaut", images.astronaut, 0.0, 0.0, 1.5),
    ("coffee", images.coffee, 1.0, 0.0, 0.0),
    ("chelsea", images.chelsea, 0.0, 0.06, 0.0),
    ("rocket", images.rocket, 2.0, 0.02, 1.0),
)
# More 640x360 clips for `--extra`: other images and moves (pans of 0.5-3 pixels a frame,
# zooms, grain), for recovery rates over more than a handful of videos.
EXTRA_MOVES = (
    ("coffee_pan2", images.coffee, 2.0, 0.0, 0.5),
    ("astronaut_pan1", images.astronaut, 1.0, 0.0, 0.0),
    ("camera_pan1", lambda: np.stack([images.camera()] * 3, axis=-1), 1.0, 0.0, 0.5),
    ("ihc_drift", images.immunohistochemistry, 0.5, 0.03, 1.0),
    ("hubble_pan", images.hubble_deep_field, 1.5, 0.0, 0.0),
    ("coffee_zoom", images.coffee, 0.0, 0.05, 1.0),
    ("chelsea_pan3", images.chelsea, 3.0, 0.0, 1.0),
    ("rocket_static", images.rocket, 0.0, 0.0, 0.0),
    ("moon_pan1", lambda: np.stack([images.moon()] * 3, axis=-1), 1.0, 0.02, 0.5),
    ("astronaut_zoom_out", images.astronaut, 0.5, -0.05, 1.0),
)


def build_clips(video: Path | None, quick: bool, extra: int = 0) -> list[Clip]:
    clips = []
    sizes = [(360, 640)] if quick else [(360, 640), (720, 1280)]
    if video is not None:
        decoded = CODEC.decode(video)
        real = decoded.frames[:90] if quick else decoded.frames
        for height, width in sizes:
            frames = real
            if frames.shape[1:3] != (height, width):
                # The 720p version is the real clip upscaled (bicubic), 5 s of it to bound
                # the run time.
                real = real[:150]
                frames = np.stack(
                    [cv2.resize(f, (width, height), interpolation=cv2.INTER_CUBIC) for f in real]
                )
            clips.append(Clip(f"{video.stem}", frames, decoded.fps))
    for index, (name, loader, pan, zoom, grain) in enumerate(MOVES[:2] if quick else MOVES):
        for size in sizes:
            hd = size[0] >= 720
            # Two of the four moves at 720p, 2 s each, to bound the run time.
            if hd and index % 2:
                continue
            count = 60 if quick or hd else 90
            frames = camera_move(loader(), size, count, pan, zoom, grain, index)
            clips.append(Clip(name, frames, 30.0))
    for index in range(extra):
        name, loader, pan, zoom, grain = EXTRA_MOVES[index % len(EXTRA_MOVES)]
        frames = camera_move(loader(), (360, 640), 60, pan, zoom, grain, 100 + index)
        repeat = index // len(EXTRA_MOVES)  # the same move again, other grain and payload
        clips.append(Clip(f"{name}#{repeat + 1}" if repeat else name, frames, 30.0))
    return clips


def _h264(frames: np.ndarray, fps: float, crf: int) -> np.ndarray:
    return CODEC.decode(encode_video(frames, fps, crf=crf, preset="medium")).frames


def _resize_each(frames: np.ndarray, make: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.stack([make(frame) for frame in frames])


def _down_up(frames: np.ndarray, _fps: float) -> np.ndarray:
    height, width = frames.shape[1:3]
    return _resize_each(
        frames,
        lambda f: cv2.resize(
            cv2.resize(f, (width // 2, height // 2), interpolation=cv2.INTER_AREA),
            (width, height), interpolation=cv2.INTER_LINEAR,
        ),
    )


def _crop_resize(frames: np.ndarray, _fps: float) -> np.ndarray:
    height, width = frames.shape[1:3]
    top, left = round(height * 0.05), round(width * 0.05)
    return _resize_each(
        frames,
        lambda f: cv2.resize(
            f[top : height - top, left : width - left], (width, height),
            interpolation=cv2.INTER_LINEAR,
        ),
    )


def _jpeg(frames: np.ndarray, _fps: float) -> np.ndarray:
    def once(frame: np.ndarray) -> np.ndarray:
        _, buffer = cv2.imencode(".jpg", frame[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 50])
        decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
        assert decoded is not None
        return np.ascontiguousarray(decoded[..., ::-1])

    return _resize_each(frames, once)


def _vp9(frames: np.ndarray, fps: float) -> np.ndarray:
    webm = encode_video(frames, fps, codec="libvpx-vp9", crf=36, container_format="webm")
    return CODEC.decode(webm).frames


def _trim(frames: np.ndarray, fps: float) -> np.ndarray:
    length = round(2 * fps)
    start = max(0, (frames.shape[0] - length) // 2)
    return _h264(frames[start : start + length], fps, 23)


CODEC_ATTACKS: dict[str, Attack] = {
    "none": lambda f, _fps: f,
    "h264_crf23": lambda f, fps: _h264(f, fps, 23),
    "h264_crf28": lambda f, fps: _h264(f, fps, 28),
    "h264_crf33": lambda f, fps: _h264(f, fps, 33),
    "vp9_crf36": _vp9,
    "down50_up": _down_up,
    "crop90_resize": _crop_resize,
    "jpeg_q50": _jpeg,
    "bright+20%": lambda f, _fps: np.clip(f.astype(np.float32) * 1.2, 0, 255).astype(np.uint8),
    "h264_x2_chain": lambda f, fps: _h264(_h264(f, fps, 23), fps, 28),
    "trim_2s_h264": _trim,
}


def _background(frames: np.ndarray) -> np.ndarray:
    """Another video for picture-in-picture: a pan over the Hubble deep field, same size."""
    count, height, width = frames.shape[:3]
    return _pan(count, height, width)


@lru_cache(maxsize=4)
def _pan(count: int, height: int, width: int) -> np.ndarray:
    return camera_move(images.hubble_deep_field(), (height, width), count, 1.5, 0.0, 1.0, 99)


def _stretch(width_ratio: float, height_ratio: float) -> Attack:
    return lambda f, _fps: each(f, lambda x: cv2.resize(
        x, (round(x.shape[1] * width_ratio / 2) * 2, round(x.shape[0] * height_ratio / 2) * 2)))


# Each within the bounds: mirrors; crops keeping 70% of width and height anywhere;
# rotations up to 5 degrees; letterbox, pillarbox and stretch; an inset at 3/4 size.
GEOMETRIC: dict[str, Attack] = {
    "mirror_h": lambda f, _fps: f[:, :, ::-1],
    "mirror_v": lambda f, _fps: f[:, ::-1],
    "crop70_tl_small": lambda f, _fps: crop(f, 0.7, 0.0, 0.0, resize=False),
    "crop70_br_resize": lambda f, _fps: crop(f, 0.7, 1.0, 1.0, resize=True),
    "rotate+5_fill": lambda f, _fps: rotate(f, 5, fill=True),
    "rotate-4_black": lambda f, _fps: rotate(f, -4, fill=False),
    "letterbox_4:3": lambda f, _fps: bars(f, round(f.shape[2] * 3 / 8) * 2, f.shape[2]),
    "pillarbox_2.4:1": lambda f, _fps: bars(f, f.shape[1], round(f.shape[1] * 1.2) * 2),
    "squeeze_4:3": _stretch(0.75, 1.0),
    "stretch_tall": _stretch(1.0, 4 / 3),
    "pip75": lambda f, _fps: inset(f, _background(f), 0.75, 0.9, 0.1),
    "mirror_crop80_rot3": lambda f, _fps: rotate(crop(f[:, :, ::-1], 0.8, 0.3, 0.7, True), 3,
                                                 fill=True),
}


def _then_h264(edit: Attack) -> Attack:
    return lambda f, fps: _h264(_even(edit(f, fps)), fps, 28)


def _even(frames: np.ndarray) -> np.ndarray:
    """H.264 4:2:0 wants even sizes: drop a last row or column if need be."""
    height, width = frames.shape[1] // 2 * 2, frames.shape[2] // 2 * 2
    return np.ascontiguousarray(frames[:, :height, :width])


ATTACKS: dict[str, Attack] = {
    **CODEC_ATTACKS,
    **GEOMETRIC,
    **{f"{name}+h264_crf28": _then_h264(edit) for name, edit in GEOMETRIC.items()},
}
GEOMETRIC_NAMES = frozenset(GEOMETRIC) | {f"{name}+h264_crf28" for name in GEOMETRIC}
FP_ATTACKS = ("none", "h264_crf28", "down50_up", "crop90_resize", "mirror_h+h264_crf28",
              "pip75+h264_crf28")


