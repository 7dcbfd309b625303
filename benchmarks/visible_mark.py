"""The visible mark under mirroring and removal: does a copy still show it (as drawn, mirrored,
only its "AI" badge), and is its removal told apart from its presence?

Run from the repository root:
    python -m benchmarks.visible_mark [--video PATH]
Clips: the watermark benchmark's four camera moves at 640x360 (3 s), plus the real clip if
given. Each is stamped with a creator's handle as the worker does, encoded (CRF 20), and
copied: mirrored then CRF 28; mirrored, cropped to 80%, rotated 3 degrees then CRF 28; the
stamp inpainted away (OpenCV's Telea inpainting over the stamp's pixels, the "watermark
remover" way) then CRF 28; and never stamped. The last line printed is `RESULT key=value ...`.
"""

# ruff: noqa: E402 - thread limits must be set before numpy and OpenCV are imported

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from benchmarks._watermark_media import CODEC, MOVES, camera_move
from inference.visible_mark import MovingOverlayMarker, StampFinder
from tests.media_edits import crop, rotate

cv2.setNumThreads(1)
HANDLE = "maria_dev"
FPS = 30.0


def stamp_mask(marker: MovingOverlayMarker, frames: np.ndarray) -> np.ndarray:
    """Where the stamp covers each frame (what a remover that knows the path would erase)."""
    height, width = frames.shape[1:3]
    alpha = marker.stamp(HANDLE, height)[..., 3][:height, :width]
    masks = np.zeros(frames.shape[:3], dtype=np.uint8)
    for index in range(frames.shape[0]):
        top, left = marker.position(index, FPS, (height, width), alpha.shape)
        masks[index, top : top + alpha.shape[0], left : left + alpha.shape[1]] = alpha > 0.02
    return masks


def inpaint(frames: np.ndarray, masks: np.ndarray) -> np.ndarray:
    kernel = np.ones((5, 5), np.uint8)
    return np.stack([cv2.inpaint(f, cv2.dilate(m, kernel), 3, cv2.INPAINT_TELEA)
                     for f, m in zip(frames, masks, strict=True)])


def h264(frames: np.ndarray, crf: int) -> np.ndarray:
    return CODEC.decode(CODEC.encode_h264(frames, FPS, crf=crf, preset="medium"),
                        luma_only=True).frames


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--video", type=Path, default=None)
    args = parser.parse_args(argv)
    clips = [(name, camera_move(loader(), (360, 640), 90, pan, zoom, grain, index))
             for index, (name, loader, pan, zoom, grain) in enumerate(MOVES)]
    if args.video is not None and args.video.exists():
        clips.insert(0, (args.video.stem, CODEC.decode(args.video).frames[:150]))
    marker, finder = MovingOverlayMarker(), StampFinder()
    copies: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
        "original (CRF 20)": lambda stamped, _plain: h264(stamped, 20),
        "mirrored, CRF 28": lambda stamped, _plain: h264(stamped[:, :, ::-1], 28),
        "mirrored+crop80+rot3, CRF 28": lambda stamped, _plain: h264(
            rotate(crop(stamped[:, :, ::-1], 0.8, 0.3, 0.7, True), 3, fill=True), 28),
        "stamp inpainted away, CRF 28": lambda stamped, _plain: h264(
            inpaint(stamped, stamp_mask(marker, stamped)), 28),
        "never stamped, CRF 28": lambda _stamped, plain: h264(plain, 28),
    }
    states: dict[str, Counter[str]] = {name: Counter() for name in copies}
    scores: dict[str, list[tuple[float, float, float]]] = {name: [] for name in copies}
    seconds: list[float] = []
    for name, frames in clips:
        stamped = marker.apply(frames, HANDLE, FPS)
        for copy, make in copies.items():
            luma = make(stamped, frames)
            begin = time.perf_counter()
            sighting = finder.sight(luma, HANDLE)
            seconds.append(time.perf_counter() - begin)
            states[copy][sighting.state] += 1
            scores[copy].append((sighting.upright, sighting.mirrored, sighting.badge))
        print(f"  done {name}", flush=True)
    print(f"\n{len(clips)} clips; best normalised correlation of the stamp as drawn / mirrored"
          " / of the badge alone (min-max over clips), and the states the finder gave")
    print(f"{'copy':<30}{'as drawn':>14}{'mirrored':>14}{'badge':>14}  states")
    for copy in copies:
        values = np.array(scores[copy])
        ranges = "".join(f"{values[:, k].min():>8.2f}-{values[:, k].max():<5.2f}"
                         for k in range(3))
        print(f"{copy:<30}{ranges}  {dict(states[copy])}")
    total = len(clips)
    print(f"finder: {np.median(seconds):.2f} s per copy (median, one core)")
    print(
        f"RESULT readable_original={states['original (CRF 20)']['readable']}/{total}"
        f" mirrored_told={states['mirrored, CRF 28']['mirrored']}/{total}"
        f" badge_seen_mirrored={sum(s[2] >= 0.75 for s in scores['mirrored, CRF 28'])}/{total}"
        f" removal_told={states['stamp inpainted away, CRF 28']['missing']}/{total}"
        f" unstamped_missing={states['never stamped, CRF 28']['missing']}/{total}"
        f" finder_seconds={np.median(seconds):.2f}"
    )


if __name__ == "__main__":
    main()
