"""Lattice candidates for the tiled watermark from the autocorrelation of the frames' mean
residual: a mark repeated every tile makes it peak on the tile's lattice, whatever affine map
(mirror, crop, rotation, stretch, inset) the picture went through."""

from __future__ import annotations

import math

import numpy as np
from scipy import fft
from scipy.ndimage import maximum_filter, uniform_filter1d

from inference.watermark_sync import vertex

# Lattice vectors are searched within this angle of the axes (rotation up to ±5°, plus the
# shear a stretch of a rotated picture makes) and from this fraction of the tile's size at
# the working scale (a mark shown smaller than that has blocks of under 5 pixels).
_MAX_ANGLE = math.radians(15)
_MIN_PERIOD = 0.6
_PEAKS = 4
# Length (lags) of the line means that take away ridges (see _autocorrelation_z).
_RIDGE = 31


def lattice_candidates(mean_residual: np.ndarray, tile: int, limit: int = 100
                       ) -> list[np.ndarray]:
    """Candidate lattices (2x2: frame displacement per canonical pixel along the tile's
    horizontal and vertical axes) from the autocorrelation of the frames' mean residual.

    A mark repeated every `tile` canonical pixels makes the autocorrelation peak at the
    lattice vectors whatever affine map the picture went through. The strongest peaks near
    the horizontal and near the vertical axis are paired, and each is also completed with
    its perpendicular of the same length (a crop, rotation or uniform rescale keeps the
    lattice square, and its weaker vector may not show). The keyed sync pattern then
    decides which candidate, if any, holds the mark."""
    height, width = mean_residual.shape
    z = _autocorrelation_z(mean_residual)
    found = [_sector_peaks(z, height, width, tile, axis) for axis in (0, 1)]
    horizontal, vertical = ([v for peak in peaks for v in peak] for peaks in found)
    pairs = [(a, b) for a in horizontal for b in vertical]
    pairs += [_square(a, 0) for a in horizontal] + [_square(b, 1) for b in vertical]
    scored = sorted(pairs, key=lambda pair: -_lattice_score(z, *pair))
    # Beside the best by the lattice score, always the square completions of the two
    # strongest peaks on each axis and their harmonics: a pan, a textured picture or the
    # edges of an inset can hide one axis.
    strongest = [_square(vector, axis) for axis, peaks in enumerate(found)
                 for peak in peaks[:2] for vector in peak]
    chosen = _distinct(_distinct(scored, limit) + strongest)
    return [np.column_stack(pair) / tile for pair in chosen]


def _distinct(pairs: list[tuple[np.ndarray, np.ndarray]], limit: int | None = None
              ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pairs in order, leaving out any within 1.5 pixels of one kept before."""
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    for a, b in pairs:
        if all(np.abs(a - c).max() > 1.5 or np.abs(b - d).max() > 1.5 for c, d in kept):
            kept.append((a, b))
        if limit is not None and len(kept) == limit:
            break
    return kept


def _square(vector: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """The square lattice one vector along `axis` (0: horizontal, 1: vertical) implies."""
    other = np.array([-vector[1], vector[0]]) if axis == 0 else np.array([vector[1], -vector[0]])
    return (vector, other) if axis == 0 else (other, vector)


def _lattice_score(z: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Sum of the autocorrelation z-scores at the lattice's points i a + j b (half plane,
    |i|, |j| <= 3): a true lattice shows at many of them, a harmonic or a stray peak at few."""
    return sum(_at(z, i * a + j * b) for i in range(4) for j in range(-3, 4)
               if i > 0 or j > 0)


def _at(z: np.ndarray, lag: np.ndarray) -> float:
    """The autocorrelation z-score at a lag (dx, dy), nearest pixel; 0 outside the map."""
    rows, cols = z.shape
    row = round(float(lag[1])) + (rows - 1) // 2
    col = round(float(lag[0])) + (cols - 1) // 2
    return float(z[row, col]) if 0 <= row < rows and 0 <= col < cols else 0.0


def _autocorrelation_z(image: np.ndarray) -> np.ndarray:
    """Autocorrelation at every lag (dy, dx), centred (lag 0 at the middle), each divided
    by the square root of its overlap and then robustly standardised."""
    height, width = image.shape
    centred = image - image.mean()
    shape = (fft.next_fast_len(2 * height), fft.next_fast_len(2 * width))
    spectrum = fft.rfft2(centred, s=shape, workers=1)
    acf = fft.irfft2(spectrum * np.conj(spectrum), s=shape, workers=1)
    acf = fft.fftshift(acf)[shape[0] // 2 - height + 1 : shape[0] // 2 + height,
                            shape[1] // 2 - width + 1 : shape[1] // 2 + width]
    lag_y = height - np.abs(np.arange(-height + 1, height))
    lag_x = width - np.abs(np.arange(-width + 1, width))
    overlap = np.outer(lag_y, lag_x).astype(np.float64)
    z = acf / np.sqrt(np.maximum(overlap, 1.0))
    z[overlap < 0.1 * height * width] = 0.0
    z = z.astype(np.float32)
    # Structures constant along one direction (the streaks a pan leaves in the mean, the
    # edges of letterbox bars) make ridges along the axes, not peaks: take away the mean of
    # the line through each lag, along both axes, keeping the larger.
    ridge = np.maximum(uniform_filter1d(z, _RIDGE, axis=0), uniform_filter1d(z, _RIDGE, axis=1))
    z -= np.maximum(ridge, 0)
    sample = z[::3, ::3]
    sample = sample[sample != 0]
    if sample.size == 0:  # a flat picture: nothing to correlate
        return np.zeros_like(z)
    median = float(np.median(sample))
    spread = 1.4826 * float(np.median(np.abs(sample - median))) or 1.0
    return (z - median) / spread


def _sector_peaks(z: np.ndarray, height: int, width: int, tile: int, axis: int
                  ) -> list[list[np.ndarray]]:
    """The strongest local maxima within _MAX_ANGLE of one axis (lag (dx, dy) with the
    axis component positive), refined to sub-pixel, each with its half and third."""
    lag_y, lag_x = np.mgrid[-height + 1 : height, -width + 1 : width]
    along, across = (lag_x, lag_y) if axis == 0 else (lag_y, lag_x)
    length = np.hypot(lag_x, lag_y)
    inside = (along > 0) & (np.abs(across) <= np.tan(_MAX_ANGLE) * along)
    inside &= length >= _MIN_PERIOD * tile
    local = (z == maximum_filter(z, size=5)) & inside & (z > 0)
    rows, cols = np.nonzero(local)
    order = np.argsort(-z[rows, cols])[:_PEAKS]
    peaks = []
    for row, col in zip(rows[order], cols[order], strict=True):
        dy, dx = _refine(z, int(row), int(col))
        vector = np.array([col - (width - 1) + dx, row - (height - 1) + dy])
        # The second or third harmonic often beats the first.
        peaks.append([vector / n for n in (1, 2, 3)
                      if np.hypot(*vector) / n >= _MIN_PERIOD * tile])
    return peaks


def _refine(z: np.ndarray, row: int, col: int) -> tuple[float, float]:
    rows, cols = z.shape
    if not (0 < row < rows - 1 and 0 < col < cols - 1):
        return 0.0, 0.0
    return (vertex(z[row - 1, col], z[row, col], z[row + 1, col]),
            vertex(z[row, col - 1], z[row, col], z[row, col + 1]))
