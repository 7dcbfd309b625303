"""Synchronisation for the tiled watermark: find how the marked picture was mirrored, cropped,
rotated, stretched or inset, from the mark's own periodicity (the autocorrelation of the
frames' local residual peaks on the tile's lattice) and its keyed sync pattern (which fixes
the mirror and the offset), then fold the frames into aligned tiles. See docs/provenance.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import fft

from inference.watermark_layout import TileLayout

# Registration works on frames of at most this many lines: enough for a mark scaled to 0.4
# of a 360-line picture, and it bounds the cost of a 4K upload.
WORK_LINES = 360
# Local normalisation of the residual: window (pixels) and the floor of its spread, so that
# flat areas (sky, letterbox bars) do not turn rounding noise into full-weight signal.
_WINDOW = 9
_FLOOR = 1.5
FLIPS = ((False, False), (True, False), (False, True), (True, True))  # (horizontal, vertical)


@dataclass(frozen=True)
class Alignment:
    """How to read tiles out of a working frame: `matrix` maps canvas pixel (column, row)
    to frame pixel (x, y); the canvas is `shape` (rows, columns), whole tiles, and its
    pixel (0, 0) sits on a tile corner of the grid it assumes."""

    matrix: np.ndarray
    shape: tuple[int, int]


@dataclass(frozen=True)
class SyncPeak:
    """Where one seed's sync pattern correlates best in a folded tile: z-score, the seed,
    the lattice candidate, the mirror (index into FLIPS), the cyclic shift (rows,
    columns) and its sub-pixel remainder."""

    z: float
    seed: int
    lattice: int
    flip: int
    shift: tuple[int, int]
    fraction: tuple[float, float]


def working(luma: np.ndarray) -> np.ndarray:
    """float32 luma frames scaled down (area filter) to at most WORK_LINES on the short side."""
    height, width = luma.shape[1:]
    scale = WORK_LINES / min(height, width)
    if scale >= 1:
        return luma.astype(np.float32, copy=False)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in luma])


def residual(frame: np.ndarray) -> np.ndarray:
    """The frame minus its local mean, divided by its local spread (floored): whitens the
    picture so its own structure does not drown the mark, and weighs flat areas up."""
    window = (_WINDOW, _WINDOW)
    detail = frame - cv2.blur(frame, window)
    spread = np.sqrt(np.maximum(cv2.blur(detail * detail, window), 0.0))
    return detail / np.maximum(spread, _FLOOR)


def grid_alignment(height: int, width: int, canon: tuple[int, int], tile: int) -> Alignment:
    """The unedited hypothesis: the frame shows the whole canonical grid at any size."""
    rows, cols = (-(-side // tile) * tile for side in canon)
    sx, sy = width / canon[1], height / canon[0]
    # Pixel centres: canonical u + 0.5 lands on frame x + 0.5.
    matrix = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]])
    return Alignment(matrix, (rows, cols))


def lattice_alignment(linear: np.ndarray, height: int, width: int, tile: int,
                      origin: tuple[float, float] = (0.0, 0.0)) -> Alignment | None:
    """A canvas covering the whole frame for the lattice whose columns are the frame
    displacements of one canonical pixel along the tile's two axes; canonical (0, 0) plus
    `origin` sits on the frame's centre. None for a degenerate or implausibly small one."""
    if abs(np.linalg.det(linear)) < 0.25:
        return None
    inverse = np.linalg.inv(linear)
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], float) - centre
    canonical = corners @ inverse.T
    low = np.floor(canonical.min(axis=0) / tile) * tile
    high = np.ceil(canonical.max(axis=0) / tile) * tile
    cols, rows = (int(v) for v in high - low)
    if rows * cols > 16 * height * width:
        return None
    start = low + np.asarray(origin)
    matrix = np.hstack([linear, (centre + linear @ start)[:, None]])
    return Alignment(matrix, (rows, cols))


def fold(residuals: np.ndarray, alignment: Alignment, tile: int) -> np.ndarray:
    """(frames, tile, tile): each frame's residual resampled onto the canvas and its tiles
    summed (pixels outside the frame add nothing)."""
    rows, cols = alignment.shape
    out = np.empty((residuals.shape[0], tile, tile), dtype=np.float32)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    for index, frame in enumerate(residuals):
        canvas = cv2.warpAffine(frame, alignment.matrix, (cols, rows), flags=flags,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        out[index] = canvas.reshape(rows // tile, tile, cols // tile, tile).sum(axis=(0, 2))
    return out


def orient(tiles: np.ndarray, flip: int, shift: tuple[int, int]) -> np.ndarray:
    """Folded tiles mirrored and cyclically shifted so the tile's corner is at (0, 0)."""
    horizontal, vertical = FLIPS[flip]
    if horizontal:
        tiles = tiles[..., ::-1]
    if vertical:
        tiles = tiles[..., ::-1, :]
    return np.roll(tiles, (-shift[0], -shift[1]), axis=(-2, -1))


def refine(linear: np.ndarray, score: Callable[[np.ndarray], float],
           steps: tuple[float, ...] = (0.01, 0.005, 0.0025)) -> tuple[np.ndarray, float]:
    """Local search around a lattice for the highest `score` (a sync z-score): each of
    the four entries of a small distortion (scale along either tile axis, and the two
    shears a rotation or a stretch makes) is nudged by ± each step in turn. The
    autocorrelation places a lattice vector to about a pixel, which over several tiles
    is enough to blur the fold; this brings it to a fraction of one."""
    best, best_score = linear, score(linear)
    for step in steps:
        improved = True
        while improved:
            improved = False
            for row in range(2):
                for col in range(2):
                    for sign in (-1.0, 1.0):
                        nudge = np.eye(2)
                        nudge[row, col] += sign * step
                        trial = best @ nudge
                        value = score(trial)
                        if value > best_score:
                            best, best_score, improved = trial, value, True
    return best, best_score


class SyncSearch:
    """Correlates folded tiles with every seed's sync pattern under each mirror and cyclic
    shift at once (FFT), and reports each seed's best peaks."""

    def __init__(self, layouts: list[TileLayout]) -> None:
        self.tile = layouts[0].tile
        patterns = np.stack([layout.sync_pixels for layout in layouts])
        # Single precision: the maps are z-scored, and it halves the cost of the FFTs.
        self._conj = np.conj(fft.rfft2(patterns, workers=1)).astype(np.complex64)

    def maps(self, folded: np.ndarray) -> np.ndarray:
        """(flips, seeds, tile, tile) z-scores of the correlation at each cyclic shift:
        z[f, s, dy, dx] compares the mirrored tile moved by (dy, dx) with seed s's pattern."""
        oriented = np.stack([orient(folded, flip, (0, 0)) for flip in range(len(FLIPS))])
        spectra = fft.rfft2(oriented.astype(np.float32), workers=1)
        shape = (self.tile, self.tile)
        maps = fft.irfft2(spectra[:, None] * self._conj[None], s=shape, workers=1)
        centred = maps - maps.mean(axis=(2, 3), keepdims=True)
        spread = centred.std(axis=(2, 3), keepdims=True)
        return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)

    def score(self, folded: np.ndarray, seed: int, flip: int) -> float:
        """The highest z-score of one seed's pattern under one mirror, over all shifts."""
        spectrum = fft.rfft2(orient(folded, flip, (0, 0)).astype(np.float32), workers=1)
        plane = fft.irfft2(spectrum * self._conj[seed], s=(self.tile, self.tile), workers=1)
        spread = float(plane.std())
        return float((plane.max() - plane.mean()) / spread) if spread > 0 else 0.0

    def strongest(self, folded: np.ndarray, lattice: int) -> SyncPeak:
        """The highest peak over every seed, mirror and shift, to sub-pixel precision."""
        maps = self.maps(folded)
        flip, seed, dy, dx = np.unravel_index(int(np.argmax(maps)), maps.shape)
        plane = maps[flip, seed]
        size = self.tile
        fraction = (
            vertex(plane[(dy - 1) % size, dx], plane[dy, dx], plane[(dy + 1) % size, dx]),
            vertex(plane[dy, (dx - 1) % size], plane[dy, dx], plane[dy, (dx + 1) % size]),
        )
        return SyncPeak(float(plane[dy, dx]), int(seed), lattice, int(flip), (int(dy), int(dx)),
                        fraction)

    def peaks(self, folded: np.ndarray, lattice: int, per_map: int = 2) -> list[list[SyncPeak]]:
        """Per seed, the `per_map` highest separated peaks of each mirror's map."""
        maps = self.maps(folded)
        flips, seeds, size = maps.shape[0], maps.shape[1], self.tile
        found: list[list[SyncPeak]] = [[] for _ in range(seeds)]
        for flip in range(flips):
            for seed in range(seeds):
                plane = maps[flip, seed]
                for rank in range(per_map):
                    dy, dx = np.unravel_index(int(np.argmax(plane)), plane.shape)
                    found[seed].append(SyncPeak(float(plane[dy, dx]), seed, lattice, flip,
                                                (int(dy), int(dx)), (0.0, 0.0)))
                    if rank + 1 < per_map:
                        plane = plane.copy()
                        rows = np.arange(dy - 2, dy + 3) % size
                        cols = np.arange(dx - 2, dx + 3) % size
                        plane[np.ix_(rows, cols)] = -np.inf
        return found


def vertex(before: float, peak: float, after: float) -> float:
    """Offset of a parabola's vertex through three samples around a peak, in [-0.5, 0.5]."""
    curvature = before - 2 * peak + after
    if not np.isfinite(curvature) or curvature >= 0:
        return 0.0
    return float(np.clip(0.5 * (before - after) / curvature, -0.5, 0.5))
