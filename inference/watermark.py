"""Keyed spread-spectrum video watermark in the 8x8 block DCT of luma, vectorised over batches
of frames with numpy: a 48-bit payload, Reed-Solomon coded (reedsolo), read by soft voting."""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from domain.provenance import WatermarkError, WatermarkReading
from inference.watermark_code import (
    ALPHABET,
    PAYLOAD_BYTES,
    ReedSolomon,
    log10_false_positive,
    log10_soft_false_positive,
    standardise,
    symbols_to_bits,
)

__all__ = ["PAYLOAD_BYTES", "DctSpreadSpectrumWatermarker", "log10_false_positive",
           "log10_soft_false_positive"]

_ALPHABET = ALPHABET
_BLOCK = 8
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Mean peakiness of a frame's correlations without a mark is 2.40 (sd 0.08 over frames,
# measured on natural clips); frames below 2.5 only get the floor weight.
_NULL_PEAK = 2.5
_WEIGHT_FLOOR = 0.01

# Low frequencies (vertical u, horizontal v) of the 8x8 DCT on the canonical grid. Measured
# on H.264 CRF 33 re-encodes, coefficients with u + v >= 5 kept almost nothing of the mark,
# so the PSNR budget goes to these. DC is left alone: brightness changes live there.
DEFAULT_BAND: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (1, 2), (2, 1), (0, 3), (3, 0), (2, 2),
)


@lru_cache(maxsize=1)
def _hadamard() -> np.ndarray:
    """64x64 Sylvester-Hadamard matrix: the 64 orthogonal ±1 patterns one symbol picks from."""
    matrix = np.ones((1, 1), dtype=np.float32)
    while matrix.shape[0] < _ALPHABET:
        matrix = np.block([[matrix, matrix], [matrix, -matrix]])
    return matrix


@dataclass(frozen=True)
class _Layout:
    """Where one seed puts each codeword symbol: `slots` index the flattened (block,
    coefficient) features, symbol by symbol, in whole rounds of 64; `chips` are keyed ±1
    signs there; `scramble` is XORed onto the symbols so payload 0 is no special pattern."""

    slots: np.ndarray
    chips: np.ndarray
    scramble: np.ndarray
    rounds: int


@dataclass(frozen=True)
class _Placement:
    """Where a received frame lands on the canonical grid under one crop hypothesis: the
    block-aligned canonical rectangle it fully covers (top, bottom, left, right) and the
    matching source box in frame pixels (left, top, right, bottom, fractional)."""

    rect: tuple[int, int, int, int]
    box: tuple[float, float, float, float]
    valid_blocks: np.ndarray
    identity: bool


@dataclass(frozen=True)
class _Verdict:
    """One decoded candidate: its payload, matching positions and log10 false-positive bound."""

    payload: bytes
    agreements: int
    log10_fp: float


class _Masking:
    """Per-frame gain on a video's pattern from local activity: gain = (activity / the frame's
    mean activity) ^ gamma per block of about 16 lines at 360p, clipped to [1/4, 4],
    interpolated bilinearly between block centres, and normalised so each frame keeps the
    pattern's RMS (the PSNR target).

    Why a negative gamma (more energy where the picture is flat), against the usual
    perceptual rule: measured on H.264 CRF 33, x264's adaptive quantisation spends its bits
    on flat areas and its motion search copies a static mark there from frame to frame,
    while textured areas are quantised coarsely and move; the detector's per-block
    normalisation also listens hardest where the picture is quiet. gamma = +0.5 (texture
    masking) lost most payloads, -0.25 recovered all at the same PSNR for an SSIM cost of
    about 0.005 (see docs/performance.md)."""

    def __init__(self, offset: np.ndarray, gamma: float) -> None:
        height, width = offset.shape
        # Even, so that activity can be read from every other pixel and line.
        self.size = size = max(4, 2 * round(8 * min(height, width) / 360))
        self.rows, self.cols = max(1, height // size), max(1, width // size)
        self.gamma = gamma
        self.offset = offset
        inner = offset[: self.rows * size, : self.cols * size] ** 2
        energy = inner.reshape(self.rows, size, self.cols, size).sum(axis=(1, 3))
        self.energy = energy / max(float(energy.sum()), 1e-12)
        self.up_rows = _interpolation(height, size, self.rows)
        self.up_cols = _interpolation(width, size, self.cols).T.copy()

    def offsets(self, chunk: np.ndarray) -> np.ndarray:
        """(frames, H, W) float32 offsets for a chunk of float32 RGB or luma frames."""
        size, rows, cols = self.size, self.rows, self.cols
        # Activity from every other pixel and line: a quarter of the work, the same blocks.
        sample = chunk[:, : rows * size : 2, : cols * size : 2]
        luma = sample @ _LUMA if chunk.ndim == 4 else sample
        blocks = luma.reshape(-1, rows, size // 2, cols, size // 2)
        mean = blocks.mean(axis=(2, 4))
        spread = np.sqrt(np.maximum((blocks**2).mean(axis=(2, 4)) - mean**2, 0.0))
        activity = spread + 1.0  # a floor, so black or flat frames get a finite gain
        gain = (activity / activity.mean(axis=(1, 2), keepdims=True)) ** self.gamma
        np.clip(gain, 0.25, 4.0, out=gain)
        gain /= np.sqrt((gain**2 * self.energy).sum(axis=(1, 2), keepdims=True))
        full = (self.up_rows @ gain.astype(np.float32)) @ self.up_cols
        full *= self.offset
        return full


def _interpolation(length: int, size: int, blocks: int) -> np.ndarray:
    """(length, blocks) bilinear weights from block centres to pixel centres on one axis."""
    position = np.clip((np.arange(length) + 0.5) / size - 0.5, 0, blocks - 1)
    lower = np.floor(position).astype(np.int64)
    upper = np.minimum(lower + 1, blocks - 1)
    fraction = (position - lower).astype(np.float32)
    weights = np.zeros((length, blocks), dtype=np.float32)
    np.add.at(weights, (np.arange(length), lower), 1 - fraction)
    np.add.at(weights, (np.arange(length), upper), fraction)
    return weights


def _resize(image: np.ndarray, width: int, height: int,
            box: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Bilinear float32 resize of one plane (Pillow widens the filter when shrinking, so
    a downscale does not alias)."""
    resized = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32)).resize(
        (width, height), Image.Resampling.BILINEAR, box=box
    )
    return np.asarray(resized, dtype=np.float32)


def canonical_shape(height: int, width: int, short: int = 300) -> tuple[int, int]:
    """The grid the mark lives on: `short` lines on the short side (rounded to blocks),
    aspect kept, whole 8x8 blocks. A video rescaled to any size maps back onto it."""
    short = max(_BLOCK, short // _BLOCK * _BLOCK)
    long_side = max(1, round(short * max(height, width) / min(height, width) / _BLOCK)) * _BLOCK
    return (short, long_side) if height <= width else (long_side, short)


@lru_cache(maxsize=8)
def _dct_basis(band: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(64, K) matrix whose columns are the orthonormal 2-D DCT-II basis images of `band`."""
    x = np.arange(_BLOCK)
    d = np.sqrt(2.0 / _BLOCK) * np.cos((2 * x[None, :] + 1) * x[:, None] * np.pi / (2 * _BLOCK))
    d[0] /= np.sqrt(2.0)
    columns = [np.outer(d[u], d[v]).ravel() for u, v in band]
    return np.stack(columns, axis=1).astype(np.float32)


class DctSpreadSpectrumWatermarker:
    """Invisible, keyed spread-spectrum watermark in the block DCT of luma (numpy).

    Technology and why: a correlation watermark in low DCT frequencies is the classic design
    that survives lossy codecs and rescaling while costing one addition per pixel to embed;
    numpy keeps it dependency-light and vectorised over whole batches of frames.

    Payload layout. 48 bits = 8 symbols of 6 bits, Reed-Solomon coded to N = 8 + parity
    symbols (RS(20, 8) by default: up to 6 symbol errors, or 12 erasures). Each symbol
    value v is sent as the v-th of 64 orthogonal Walsh-Hadamard patterns, masked by keyed
    ±1 chips and spread over a keyed random set of (block, coefficient) slots of the
    canonical grid (short side `grid_lines`, 220 by default, rounded to 216: at 360p the
    mark's 8x8 blocks are about 13 pixels, coarse enough for H.264 at CRF 33 to keep and
    for a 1-2 pixel-a-frame pan to leave overlapping in the frames after a keyframe; 296
    lines lost more payloads there; a 16:9 frame gives each symbol 10 rounds of 64 = 640
    slots). Orthogonal signalling makes the most
    of a weak channel: the detector correlates with all 64 patterns at once (a Hadamard
    product) and takes the best, with its lead over the runner-up as the reliability that
    drives erasure decoding. It also beat binary signalling with 6 bits per symbol in our
    measurements: a symbol error there took only one of six weak bits.

    Embedding. The pattern is built once per video on the canonical grid with amplitude set
    by `target_psnr_db`, resampled to the frame size, shaped per frame by `_Masking` (more
    where the picture is flat: `mask_gamma`, 0 turns it off; each frame keeps the PSNR
    target), and added to R, G and B alike (which changes luma only).

    Per-video seed. One pattern shared by every video would let an attacker average many
    videos and estimate it. Chips, slots and scramble therefore come from one of `seeds`
    keyed layouts, chosen per video as HMAC(key, payload) mod seeds: deterministic (the same
    payload marks the same way), unpredictable without the key, and derivable by the
    detector without the payload by trying every seed. A decoded payload is only accepted
    under the seed it hashes to, so the search costs no false-positive budget (see
    `log10_false_positive`). Within a video the pattern is static, which is what lets it
    survive trimming, frame drops and frame-rate changes.

    Detection. Frames are resampled onto the canonical grid under each crop hypothesis in
    `crop_scales` (a centred crop of that fraction, rescaled to any size), which is the sync
    search; each block's band coefficients are divided by the block's own RMS so textured
    blocks do not drown flat ones; per-symbol correlations are normalised per frame and
    summed over frames with weights (soft votes: after H.264 the frames near a keyframe keep
    a clean mark while later ones on moving content are near chance, so each frame is
    weighted by how clearly it shows any mark at all, see `_weighted_vote`). Hypotheses are
    ranked by how peaked their votes are, the best few are list-decoded (Chase-style, with
    erasures), and a candidate is accepted when its false-positive bound is at most
    `max_false_positive`: the better of two bounds, the count of positions whose best
    value matches (`log10_false_positive`) and the sum of the standardised votes the
    codeword picks (`log10_soft_false_positive`, which keeps a runner-up's evidence),
    doubled because either may accept.
    """

    def __init__(
        self,
        key: bytes,
        *,
        target_psnr_db: float = 40.5,
        parity_symbols: int = 12,
        seeds: int = 16,
        crop_scales: tuple[float, ...] = (1.0, 0.95, 0.9, 0.85, 0.8),
        band: tuple[tuple[int, int], ...] = DEFAULT_BAND,
        grid_lines: int = 220,
        mask_gamma: float = -0.25,
        max_false_positive: float = 1e-6,
        max_frames: int = 96,
        decoded_hypotheses: int = 6,
        chase_swaps: int = 4,
    ) -> None:
        if len(key) < 16:
            raise WatermarkError("the watermark key must be at least 16 bytes")
        if not 0 < max_false_positive < 1:
            raise WatermarkError("max_false_positive must lie in (0, 1)")
        if not crop_scales or not all(0 < s <= 1 for s in crop_scales):
            raise WatermarkError("crop scales must lie in (0, 1]")
        self._key = bytes(key)
        self._code = ReedSolomon(parity_symbols)
        self._seeds = seeds
        self._scales = tuple(crop_scales)
        self._band = tuple(band)
        self._basis = _dct_basis(self._band)
        self._grid = grid_lines
        self._mask_gamma = mask_gamma
        self._rms = 255.0 / 10 ** (target_psnr_db / 20)
        self._log10_max_fp = math.log10(max_false_positive)
        self._max_frames = max_frames
        self._decoded = decoded_hypotheses
        self._swaps = chase_swaps
        self._layouts: dict[tuple[int, int, int], _Layout] = {}
        self._placements: dict[tuple[int, int, float], _Placement] = {}
        self._cache_lock = threading.Lock()

    @property
    def payload_bytes(self) -> int:
        return PAYLOAD_BYTES

    @property
    def codeword_symbols(self) -> int:
        return self._code.symbols

    @property
    def hypotheses(self) -> int:
        """How many geometric hypotheses the false-positive bound is paid for."""
        return len(self._scales)

    def seed_for(self, payload: bytes) -> int:
        digest = hmac.new(self._key, b"seed|" + payload, hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") % self._seeds

    def pattern(self, payload: bytes, height: int, width: int) -> np.ndarray:
        """The float32 luma offset (height, width) that `embed` adds for `payload`."""
        if len(payload) != PAYLOAD_BYTES:
            raise WatermarkError(f"payload must be {PAYLOAD_BYTES} bytes, got {len(payload)}")
        canon_h, canon_w = canonical_shape(height, width, self._grid)
        layout = self._layout(self.seed_for(payload), canon_h, canon_w)
        sent = self._code.encode(payload) ^ layout.scramble
        rows = _hadamard()[sent]  # (symbols, 64): each symbol's pattern over one round
        signs = np.broadcast_to(rows[:, None, :], (sent.size, layout.rounds, _ALPHABET))
        blocks = (canon_h // _BLOCK) * (canon_w // _BLOCK)
        coefficients = np.zeros(blocks * len(self._band), dtype=np.float32)
        coefficients[layout.slots] = layout.chips * signs.ravel()
        pixels = coefficients.reshape(blocks, len(self._band)) @ self._basis.T
        grid = pixels.reshape(canon_h // _BLOCK, canon_w // _BLOCK, _BLOCK, _BLOCK)
        out = grid.transpose(0, 2, 1, 3).reshape(canon_h, canon_w)
        if (canon_h, canon_w) != (height, width):
            out = _resize(out, width, height)
        # Scaling after resampling (which smooths) holds the PSNR target at the frame's size.
        return out * np.float32(self._rms / max(float(np.sqrt((out**2).mean())), 1e-9))

    def embed(self, frames: Any, payload: bytes) -> np.ndarray:
        batch = _as_batch(frames)
        offset = self.pattern(payload, batch.shape[1], batch.shape[2])
        tiny = min(batch.shape[1], batch.shape[2]) < 16
        masking = _Masking(offset, self._mask_gamma) if self._mask_gamma and not tiny else None
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
        luma = self._luma(frames)
        height, width = luma.shape[1], luma.shape[2]
        # Every (crop scale, seed) pair is a hypothesis. They are ranked by how peaked their
        # votes are (the true one stands out), and only the best ranked are list-decoded.
        # Acceptance does not depend on the ranking, so the bound holds regardless.
        ranked: list[tuple[float, int, np.ndarray]] = []
        for scale in self._scales:
            features = self._features(luma, scale)
            for seed in range(self._seeds):
                vote, peak = _weighted_vote(self._per_frame_scores(features, seed, height, width))
                ranked.append((peak, seed, vote))
        ranked.sort(key=lambda item: -item[0])
        best: _Verdict | None = None
        for rank, (_, seed, vote) in enumerate(ranked[: self._decoded]):
            received, runner_up, margins = _decide(vote)
            swaps = self._swaps if rank < 2 else 0
            pairs = np.stack([received, runner_up], axis=1)
            for payload in self._code.candidates(pairs, margins, swaps):
                # A payload only counts under the seed it hashes to: what keeps the seed
                # search out of the false-positive bound.
                if self.seed_for(payload) != seed:
                    continue
                verdict = self._verdict(vote, payload)
                if best is None or verdict.log10_fp < best.log10_fp:
                    best = verdict
        return self._reading(best, luma.shape[0])

    def frame_bit_accuracy(self, frames: Any, payload: bytes) -> np.ndarray:
        """Per frame (of at most `max_frames`, evenly spaced), the fraction of codeword bits
        read correctly from that frame alone when the seed is known, under the crop
        hypothesis that fits best (a benchmark diagnostic; 0.5 is chance)."""
        luma = self._luma(frames)
        seed = self.seed_for(payload)
        expected = symbols_to_bits(self._code.encode(payload))
        best: np.ndarray | None = None
        for scale in self._scales:
            features = self._features(luma, scale)
            scores = self._per_frame_scores(features, seed, luma.shape[1], luma.shape[2])
            read = symbols_to_bits(scores.argmax(axis=2))
            accuracy = (read == expected[None, :]).mean(axis=1)
            if best is None or accuracy.mean() > best.mean():
                best = accuracy
        assert best is not None
        return best

    def _verdict(self, vote: np.ndarray, payload: bytes) -> _Verdict:
        """How strongly `vote` supports `payload`: the better of the two bounds (match
        count, soft sum), doubled because the detector may accept on either."""
        codeword = self._code.encode(payload)
        agreements = _agreements(vote, codeword)
        z = standardise(vote)
        total = float(z[np.arange(codeword.size), codeword].sum())
        hypotheses = len(self._scales)
        log10_fp = math.log10(2) + min(
            log10_false_positive(agreements, codeword.size, hypotheses),
            log10_soft_false_positive(z, total, hypotheses),
        )
        return _Verdict(payload, agreements, log10_fp)

    def _reading(self, verdict: _Verdict | None, frames: int) -> WatermarkReading:
        if verdict is None:
            return WatermarkReading(None, 0.0, 1.0, frames_examined=frames)
        return WatermarkReading(
            payload=verdict.payload if verdict.log10_fp <= self._log10_max_fp else None,
            confidence=verdict.agreements / self._code.symbols,
            false_positive_probability=min(1.0, 10**verdict.log10_fp),
            frames_examined=frames,
        )

    def _luma(self, frames: Any, *, subsample: bool = True) -> np.ndarray:
        batch = _as_batch(frames)
        if subsample and batch.shape[0] > self._max_frames:
            pick = np.linspace(0, batch.shape[0] - 1, self._max_frames).round().astype(np.int64)
            batch = batch[pick]
        if batch.ndim == 3:
            return batch.astype(np.float32)
        luma = np.empty(batch.shape[:3], dtype=np.float32)
        # Chunks keep the float copy of the RGB frames small.
        for start in range(0, batch.shape[0], 8):
            luma[start : start + 8] = batch[start : start + 8].astype(np.float32) @ _LUMA
        return luma

    def _layout(self, seed: int, canon_h: int, canon_w: int) -> _Layout:
        cache_key = (seed, canon_h, canon_w)
        with self._cache_lock:
            cached = self._layouts.get(cache_key)
        if cached is not None:
            return cached
        label = f"layout|{seed}|{canon_h}x{canon_w}|{self._band}|{self._code.symbols}".encode()
        digest = hmac.new(self._key, label, hashlib.sha256).digest()
        rng = np.random.Generator(np.random.PCG64(int.from_bytes(digest, "big")))
        total = (canon_h // _BLOCK) * (canon_w // _BLOCK) * len(self._band)
        rounds = total // self._code.symbols // _ALPHABET
        if rounds < 1:
            raise WatermarkError("frame too small to carry the payload")
        slots = rng.permutation(total)[: rounds * _ALPHABET * self._code.symbols]
        chips = (rng.integers(0, 2, size=slots.size) * 2 - 1).astype(np.float32)
        scramble = rng.integers(0, _ALPHABET, size=self._code.symbols).astype(np.int64)
        layout = _Layout(slots, chips, scramble, rounds)
        with self._cache_lock:
            self._layouts[cache_key] = layout
        return layout

    def _placement(self, height: int, width: int, scale: float) -> _Placement:
        cache_key = (height, width, scale)
        with self._cache_lock:
            cached = self._placements.get(cache_key)
        if cached is not None:
            return cached
        canon_h, canon_w = canonical_shape(height, width, self._grid)
        # Hypothesis: the frame shows the centred `scale` fraction of the original at any
        # size, so it covers canonical [(1 - scale) * W / 2, (1 + scale) * W / 2] per axis.
        # Only whole blocks inside that span are read.
        def span(canon: int, frame: int) -> tuple[int, int, float, float]:
            start = (1 - scale) * canon / 2
            first = math.ceil(start / _BLOCK - 1e-9) * _BLOCK
            last = math.floor((start + scale * canon) / _BLOCK + 1e-9) * _BLOCK
            ratio = frame / (scale * canon)
            return first, last, (first - start) * ratio, (last - start) * ratio

        top, bottom, src_top, src_bottom = span(canon_h, height)
        left, right, src_left, src_right = span(canon_w, width)
        rows = np.zeros(canon_h // _BLOCK, dtype=np.float32)
        rows[top // _BLOCK : bottom // _BLOCK] = 1.0
        cols = np.zeros(canon_w // _BLOCK, dtype=np.float32)
        cols[left // _BLOCK : right // _BLOCK] = 1.0
        placement = _Placement(
            rect=(top, bottom, left, right),
            box=(src_left, src_top, src_right, src_bottom),
            valid_blocks=np.outer(rows, cols).ravel(),
            identity=scale == 1.0 and (canon_h, canon_w) == (height, width),
        )
        with self._cache_lock:
            self._placements[cache_key] = placement
        return placement

    def _features(self, luma: np.ndarray, scale: float) -> np.ndarray:
        """(frames, blocks * K) band coefficients, each block scaled to unit RMS."""
        frames, height, width = luma.shape
        plan = self._placement(height, width, scale)
        canon_h, canon_w = canonical_shape(height, width, self._grid)
        if plan.identity:
            canvas = luma
        else:
            canvas = np.zeros((frames, canon_h, canon_w), dtype=np.float32)
            top, bottom, left, right = plan.rect
            for index in range(frames):
                canvas[index, top:bottom, left:right] = _resize(
                    luma[index], right - left, bottom - top, plan.box
                )
        blocks = canvas.reshape(frames, canon_h // _BLOCK, _BLOCK, canon_w // _BLOCK, _BLOCK)
        blocks = blocks.transpose(0, 1, 3, 2, 4).reshape(frames, -1, _BLOCK * _BLOCK)
        coefficients = blocks @ self._basis
        energy = np.sqrt((coefficients**2).mean(axis=2, keepdims=True))
        # The floor keeps near-flat blocks (sky, letterbox) from turning rounding noise
        # into full-weight votes.
        coefficients /= np.maximum(energy, 1.0)
        coefficients *= plan.valid_blocks[None, :, None]
        return coefficients.reshape(frames, -1)

    def _per_frame_scores(
        self, features: np.ndarray, seed: int, height: int, width: int
    ) -> np.ndarray:
        """(frames, symbols, 64) correlations with every pattern, indexed by codeword value
        (the scramble already undone)."""
        canon_h, canon_w = canonical_shape(height, width, self._grid)
        layout = self._layout(seed, canon_h, canon_w)
        frames, symbols = features.shape[0], self._code.symbols
        # np.take on an axis is several times faster than fancy indexing here.
        chips = np.take(features, layout.slots, axis=1)
        chips *= layout.chips
        correlations = chips.reshape(frames, symbols, layout.rounds, _ALPHABET).sum(2) @ _hadamard()
        # Sent value = codeword XOR scramble, so codeword value c sits at c XOR scramble.
        unscramble = np.arange(_ALPHABET)[None, :] ^ layout.scramble[:, None]
        return np.take_along_axis(correlations, unscramble[None, :, :], axis=2)


def _peakiness(correlations: np.ndarray) -> np.ndarray:
    """Per (..., symbol): how far the best of the 64 correlations stands above the others, in
    their own standard deviations. Without a mark this is the maximum of 64 roughly normal
    values, about 2.4; a readable mark lifts it well above."""
    centred = correlations - correlations.mean(axis=-1, keepdims=True)
    spread = centred.std(axis=-1)
    return np.divide(centred.max(axis=-1), spread, out=np.zeros_like(spread), where=spread > 0)


def _weighted_vote(scores: np.ndarray) -> tuple[np.ndarray, float]:
    """Soft vote over frames: (symbols, 64) summed correlations, and how peaked they are.

    Each frame is scaled to unit RMS, then weighted by how far its own peakiness exceeds
    the no-mark level, squared (an SNR-like weight) plus a small floor. After H.264 on
    moving content only the frames near a keyframe keep the mark, and an unweighted sum lets
    the many blank frames drown them. The weights depend only on quantities that a keyed
    chip flip merely permutes (RMS, peakiness), so the null model behind the false-positive
    bound is untouched.
    """
    norms = np.sqrt((scores**2).mean(axis=(1, 2), keepdims=True))
    # Frames with no usable blocks (all zero) carry no vote rather than a division error.
    scaled = np.divide(scores, norms, out=np.zeros_like(scores), where=norms > 0)
    excess = np.maximum(_peakiness(scaled).mean(axis=1) - _NULL_PEAK, 0.0)
    vote = (scaled * (excess**2 + _WEIGHT_FLOOR)[:, None, None]).sum(axis=0)
    return vote, float(_peakiness(vote).mean())


def _decide(vote: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best and runner-up value per position, and the lead of the best."""
    order = np.argsort(-vote, axis=1, kind="stable")
    best, second = order[:, 0], order[:, 1]
    rows = np.arange(vote.shape[0])
    return best, second, vote[rows, best] - vote[rows, second]


def _agreements(vote: np.ndarray, codeword: np.ndarray) -> int:
    """Positions where the codeword's value strictly beats every other value."""
    rows = np.arange(vote.shape[0])
    chosen = vote[rows, codeword]
    others = vote.copy()
    others[rows, codeword] = -np.inf
    return int(np.count_nonzero(chosen > others.max(axis=1)))


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
