"""Keyed spread-spectrum video watermark in the 8x8 block DCT of luma: a 48-bit payload,
Reed-Solomon coded (reedsolo), in a keyed tile repeated over the picture, read by soft voting
after a geometric synchronisation (`watermark_register`; docs/provenance.md)."""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.provenance import WatermarkError, WatermarkReading
from inference.watermark_code import (
    PAYLOAD_BYTES,
    ReedSolomon,
    agreements,
    decide,
    log10_false_positive,
    log10_soft_false_positive,
    standardise,
    symbols_to_bits,
    weighted_vote,
)
from inference.watermark_layout import (
    DEFAULT_BAND,
    LUMA,
    Masking,
    TileCode,
    canonical_shape,
    frame_pattern,
)
from inference.watermark_register import Registered, Registration
from inference.watermark_sync import SyncSearch, fold, grid_alignment, residual, working

__all__ = ["PAYLOAD_BYTES", "DctSpreadSpectrumWatermarker", "log10_false_positive",
           "log10_soft_false_positive"]


@dataclass(frozen=True)
class _Hypothesis:
    """One alignment read under one seed: its soft vote and how peaked it is."""

    seed: int
    vote: np.ndarray
    peak: float


@dataclass(frozen=True)
class _Verdict:
    """One decoded candidate: its payload, matching positions and log10 false-positive bound."""

    payload: bytes
    agreements: int
    log10_fp: float


class DctSpreadSpectrumWatermarker:
    """Invisible, keyed spread-spectrum watermark in the block DCT of luma (numpy, OpenCV).

    Technology and why: a correlation watermark in low DCT frequencies is the classic design
    that survives lossy codecs and rescaling while costing one addition per pixel to embed;
    numpy keeps it dependency-light and vectorised over whole batches of frames.

    Payload. 48 bits = 8 symbols of 6 bits, Reed-Solomon coded to RS(20, 8) (up to 6 symbol
    errors, or 12 erasures). Each symbol value v is sent as the v-th of 64 orthogonal
    Walsh-Hadamard patterns masked by keyed ±1 chips: the detector correlates with all 64
    at once and takes the best, its lead over the runner-up driving erasure decoding.

    Tile. The coded payload fills a keyed random 1,280 of the 1,690 (block, coefficient)
    slots of a `tile` x `tile` tile of the canonical grid (short side `grid_lines`, 216:
    blocks of about 13 pixels at 360p, coarse enough for H.264 at CRF 33 to keep); the other
    410 carry a keyed sync pattern. The tile repeats over the whole picture, so any part of
    it of about a tile's size carries the whole payload: crops anywhere, insets and bars
    lose area, never symbols. The pattern is built once per video at `target_psnr_db`,
    resampled to the frame, shaped per frame by `Masking` (more where the picture is flat)
    and added to R, G and B alike (which changes luma only).

    Per-video seed. Chips, slots, sync pattern and scramble come from one of `seeds` keyed
    layouts, chosen per video as HMAC(key, payload) mod seeds, so averaging many videos
    reveals no common pattern; the detector tries every seed, and accepts a payload only
    under the seed it hashes to, which keeps the seed search out of the bound.

    Detection (`watermark_sync`). Frames are whitened (local residual) and folded into
    tiles under each alignment hypothesis: the unedited grid, and the best `lattices`
    lattices that the autocorrelation of the residual proposes and the sync pattern
    confirms; for each seed, the `sync_candidates` best (lattice, mirror, offset) peaks of
    its sync pattern are read. Per frame, symbol correlations are normalised and summed with
    weights (soft votes: after H.264 the frames near a keyframe keep a clean mark while
    later ones are near chance, see `weighted_vote`). Hypotheses are ranked by how peaked
    their votes are, the best few list-decoded (Chase-style, with erasures), and a payload
    is accepted when its false-positive bound is at most `max_false_positive`. The bound
    pays for every hypothesis read per seed: 1 + `sync_candidates` (`hypotheses`).
    Choosing among lattices, mirrors and offsets by the sync pattern costs nothing more:
    the sync chips are drawn apart from the payload chips, so on an unmarked video the
    payload read at a chosen alignment is still uniformly random.
    """

    def __init__(
        self,
        key: bytes,
        *,
        target_psnr_db: float = 40.5,
        parity_symbols: int = 12,
        seeds: int = 16,
        tile: int = 104,
        band: tuple[tuple[int, int], ...] = DEFAULT_BAND,
        grid_lines: int = 220,
        mask_gamma: float = -0.25,
        max_false_positive: float = 1e-6,
        max_frames: int = 96,
        registration: bool = True,
        lattices: int = 2,
        sync_candidates: int = 2,
        decoded_hypotheses: int = 6,
        chase_swaps: int = 4,
    ) -> None:
        if len(key) < 16:
            raise WatermarkError("the watermark key must be at least 16 bytes")
        if not 0 < max_false_positive < 1:
            raise WatermarkError("max_false_positive must lie in (0, 1)")
        self._key = bytes(key)
        self._code = ReedSolomon(parity_symbols)
        self._tiles = TileCode(self._key, tile, tuple(band), self._code.symbols)
        self._seeds = seeds
        self._grid = grid_lines
        self._mask_gamma = mask_gamma
        self._rms = 255.0 / 10 ** (target_psnr_db / 20)
        self._log10_max_fp = math.log10(max_false_positive)
        self._max_frames = max_frames
        search = SyncSearch([self._tiles.layout(s) for s in range(seeds)])
        self._registration = Registration(search, lattices) if registration else None
        self._sync_candidates = sync_candidates if registration else 0
        self._decoded = decoded_hypotheses
        self._swaps = chase_swaps

    @property
    def payload_bytes(self) -> int:
        return PAYLOAD_BYTES

    @property
    def codeword_symbols(self) -> int:
        return self._code.symbols

    @property
    def hypotheses(self) -> int:
        """How many alignments per seed the false-positive bound is paid for: the unedited
        grid and the `sync_candidates` registered reads."""
        return 1 + self._sync_candidates

    def seed_for(self, payload: bytes) -> int:
        digest = hmac.new(self._key, b"seed|" + payload, hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") % self._seeds

    def pattern(self, payload: bytes, height: int, width: int) -> np.ndarray:
        """The float32 luma offset (height, width) that `embed` adds for `payload`."""
        if len(payload) != PAYLOAD_BYTES:
            raise WatermarkError(f"payload must be {PAYLOAD_BYTES} bytes, got {len(payload)}")
        if min(canonical_shape(height, width, self._grid)) < self._tiles.tile:
            raise WatermarkError("frame too small to carry the payload")
        layout = self._tiles.layout(self.seed_for(payload))
        tile = self._tiles.tile_pattern(layout, self._code.encode(payload))
        return frame_pattern(tile, height, width, self._grid, self._rms)

    def embed(self, frames: Any, payload: bytes) -> np.ndarray:
        batch = _as_batch(frames)
        offset = self.pattern(payload, batch.shape[1], batch.shape[2])
        tiny = min(batch.shape[1], batch.shape[2]) < 16
        masking = Masking(offset, self._mask_gamma) if self._mask_gamma and not tiny else None
        out = np.empty_like(batch)
        # Chunks keep the float intermediates small and in cache.
        for start in range(0, batch.shape[0], 8):
            chunk = batch[start : start + 8].astype(np.float32)
            added = offset if masking is None else masking.offsets(chunk)
            chunk += added[..., None] if batch.ndim == 4 else added
            np.rint(chunk, out=chunk)
            np.clip(chunk, 0, 255, out=chunk)
            out[start : start + 8] = chunk
        return out

    def detect(self, frames: Any) -> WatermarkReading:
        residuals = self._residuals(frames)
        reads = self._reads(residuals)
        hypotheses = [
            _Hypothesis(seed, *weighted_vote(scores))
            for seed in range(self._seeds) for scores in self._seed_scores(reads, seed)
        ]
        # Ranked by how peaked their votes are (the true one stands out); only the best
        # ranked are list-decoded. Acceptance does not depend on the ranking.
        hypotheses.sort(key=lambda h: -h.peak)
        best: _Verdict | None = None
        for rank, hypothesis in enumerate(hypotheses[: self._decoded]):
            received, runner_up, margins = decide(hypothesis.vote)
            swaps = self._swaps if rank < 2 else 0
            pairs = np.stack([received, runner_up], axis=1)
            for payload in self._code.candidates(pairs, margins, swaps):
                # A payload only counts under the seed it hashes to: what keeps the seed
                # search out of the false-positive bound.
                if self.seed_for(payload) != hypothesis.seed:
                    continue
                verdict = self._verdict(hypothesis.vote, payload)
                if best is None or verdict.log10_fp < best.log10_fp:
                    best = verdict
        return self._reading(best, residuals.shape[0])

    def frame_bit_accuracy(self, frames: Any, payload: bytes) -> np.ndarray:
        """Per frame (of at most `max_frames`, evenly spaced), the fraction of codeword bits
        read correctly from that frame alone when the seed is known, under the alignment
        hypothesis that fits best (a benchmark diagnostic; 0.5 is chance)."""
        residuals = self._residuals(frames)
        expected = symbols_to_bits(self._code.encode(payload))
        accuracies = [
            (symbols_to_bits(scores.argmax(axis=2)) == expected[None, :]).mean(axis=1)
            for scores in self._seed_scores(self._reads(residuals), self.seed_for(payload))
        ]
        return max(accuracies, key=lambda accuracy: float(accuracy.mean()))

    def _residuals(self, frames: Any) -> np.ndarray:
        luma = working(self._luma(frames))
        return np.stack([residual(frame) for frame in luma])

    def _reads(self, residuals: np.ndarray) -> tuple[np.ndarray, list[Registered]]:
        """The frames folded on the unedited grid, and on each registered lattice."""
        tile, (height, width) = self._tiles.tile, residuals.shape[1:]
        canon = canonical_shape(height, width, self._grid)
        grid = fold(residuals, grid_alignment(height, width, canon, tile), tile)
        registered = self._registration.register(residuals) if self._registration else []
        return grid, registered

    def _seed_scores(self, reads: tuple[np.ndarray, list[Registered]], seed: int
                     ) -> list[np.ndarray]:
        """(frames, symbols, 64) scores of one seed under each alignment read for it: the
        unedited grid, then its `sync_candidates` best registered sync peaks."""
        grid, registered = reads
        tiles = [grid]
        if self._registration is not None:
            tiles += self._registration.reads(registered, seed, self._sync_candidates)
        layout = self._tiles.layout(seed)
        return [self._tiles.scores(self._tiles.features(t), layout) for t in tiles]

    def _verdict(self, vote: np.ndarray, payload: bytes) -> _Verdict:
        """How strongly `vote` supports `payload`: the better of the two bounds (match
        count, soft sum), doubled because the detector may accept on either."""
        codeword = self._code.encode(payload)
        matches = agreements(vote, codeword)
        z = standardise(vote)
        total = float(z[np.arange(codeword.size), codeword].sum())
        hypotheses = self.hypotheses
        log10_fp = math.log10(2) + min(
            log10_false_positive(matches, codeword.size, hypotheses),
            log10_soft_false_positive(z, total, hypotheses),
        )
        return _Verdict(payload, matches, log10_fp)

    def _reading(self, verdict: _Verdict | None, frames: int) -> WatermarkReading:
        if verdict is None:
            return WatermarkReading(None, 0.0, 1.0, frames_examined=frames)
        return WatermarkReading(
            payload=verdict.payload if verdict.log10_fp <= self._log10_max_fp else None,
            confidence=verdict.agreements / self._code.symbols,
            false_positive_probability=min(1.0, 10**verdict.log10_fp),
            frames_examined=frames,
        )

    def _luma(self, frames: Any) -> np.ndarray:
        batch = _as_batch(frames)
        if batch.shape[0] > self._max_frames:
            pick = np.linspace(0, batch.shape[0] - 1, self._max_frames).round().astype(np.int64)
            batch = batch[pick]
        if batch.ndim == 3:
            return batch.astype(np.float32)
        luma = np.empty(batch.shape[:3], dtype=np.float32)
        # Chunks keep the float copy of the RGB frames small.
        for start in range(0, batch.shape[0], 8):
            luma[start : start + 8] = batch[start : start + 8].astype(np.float32) @ LUMA
        return luma


def _as_batch(frames: Any) -> np.ndarray:
    batch = np.asarray(frames)
    if batch.dtype != np.uint8:
        raise WatermarkError(f"frames must be uint8, got {batch.dtype}")
    if batch.ndim not in (3, 4) or (batch.ndim == 4 and batch.shape[3] != 3):
        raise WatermarkError(
            f"frames must be (N, H, W, 3) RGB or (N, H, W) luma, got {batch.shape}"
        )
    if batch.shape[0] == 0:
        raise WatermarkError("no frames")
    return batch
