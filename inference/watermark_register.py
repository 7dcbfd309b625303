"""Registration of the tiled watermark: the autocorrelation proposes lattices, the keyed sync
pattern picks and refines them on the mean residual, and every frame is folded on the best.
Every choice here uses the frames and the sync chips only, never the payload chips."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inference.watermark_lattice import lattice_candidates
from inference.watermark_sync import (
    FLIPS,
    SyncPeak,
    SyncSearch,
    fold,
    lattice_alignment,
    orient,
    refine,
)

# Lattice candidates (best autocorrelation first) whose fit to the sync patterns is tried,
# and how many of the best fitting are refined by a keyed local search.
SCREENED = 8
REFINED = 3


@dataclass(frozen=True)
class Registered:
    """Every frame folded on one lattice, with each seed's best sync peaks in the sum."""

    tiles: np.ndarray
    peaks: list[list[SyncPeak]]


class Registration:
    """Finds up to `lattices` distinct lattices for a video's residual frames."""

    def __init__(self, search: SyncSearch, lattices: int) -> None:
        self.search = search
        self.tile = search.tile
        self.lattices = lattices

    def register(self, residuals: np.ndarray) -> list[Registered]:
        tile, (height, width) = self.tile, residuals.shape[1:]
        mean = residuals.mean(axis=0)
        screened: list[tuple[SyncPeak, np.ndarray]] = []
        for linear in lattice_candidates(mean, tile, SCREENED):
            peak = self._strongest(mean, linear)
            if peak is not None:
                screened.append((peak, linear))
        screened.sort(key=lambda item: -item[0].z)
        refined: list[tuple[SyncPeak, np.ndarray]] = []
        for peak, linear in screened[:REFINED]:
            better, _ = refine(linear, self._score(mean, peak.seed, peak.flip))
            best = self._strongest(mean, better)
            if best is not None:
                refined.append((best, better))
        refined.sort(key=lambda item: -item[0].z)
        chosen: list[tuple[SyncPeak, np.ndarray]] = []
        for peak, linear in refined:
            if len(chosen) < self.lattices and all(
                    np.abs(linear - other).max() * tile > 1.5 for _, other in chosen):
                chosen.append((peak, linear))
        registered = []
        for index, (peak, linear) in enumerate(chosen):
            # Move the canvas by the peak's sub-pixel remainder, so that the tile corners
            # fall on whole pixels for the seed and mirror it found.
            horizontal, vertical = FLIPS[peak.flip]
            dy, dx = peak.fraction
            origin = (-dx if horizontal else dx, -dy if vertical else dy)
            alignment = lattice_alignment(linear, height, width, tile, origin)
            assert alignment is not None
            tiles = fold(residuals, alignment, tile)
            registered.append(Registered(tiles, self.search.peaks(tiles.sum(axis=0), index)))
        return registered

    def reads(self, registered: list[Registered], seed: int, count: int) -> list[np.ndarray]:
        """The aligned tiles at one seed's `count` best sync peaks over every registered
        lattice, mirror and offset."""
        peaks = sorted((p for r in registered for p in r.peaks[seed]), key=lambda p: -p.z)
        return [orient(registered[p.lattice].tiles, p.flip, p.shift) for p in peaks[:count]]

    def _strongest(self, mean: np.ndarray, linear: np.ndarray) -> SyncPeak | None:
        alignment = lattice_alignment(linear, mean.shape[0], mean.shape[1], self.tile)
        if alignment is None:
            return None
        return self.search.strongest(fold(mean[None], alignment, self.tile)[0], 0)

    def _score(self, mean: np.ndarray, seed: int, flip: int) -> Callable[[np.ndarray], float]:
        """How well one seed's sync pattern, under one mirror, fits the mean residual folded
        on a lattice (0 for a lattice that cannot be folded)."""

        def score(linear: np.ndarray) -> float:
            alignment = lattice_alignment(linear, mean.shape[0], mean.shape[1], self.tile)
            if alignment is None:
                return 0.0
            return self.search.score(fold(mean[None], alignment, self.tile)[0], seed, flip)

        return score
