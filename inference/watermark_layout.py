"""Where the watermark lives: one keyed tile of 8x8 DCT blocks carrying the payload and a sync
pattern, repeated over a canonical grid that is resampled to the frame, and the per-frame
masking that shapes it. The detector's synchronisation is in `watermark_sync`."""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from domain.provenance import WatermarkError

BLOCK = 8
ALPHABET = 64
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

# Low frequencies (vertical u, horizontal v) of the 8x8 DCT on the canonical grid. Measured
# on H.264 CRF 33 re-encodes, coefficients with u + v >= 5 kept almost nothing of the mark,
# so the PSNR budget goes to these. DC is left alone: brightness changes live there.
DEFAULT_BAND: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (1, 2), (2, 1), (0, 3), (3, 0), (2, 2),
)


@lru_cache(maxsize=1)
def hadamard() -> np.ndarray:
    """64x64 Sylvester-Hadamard matrix: the 64 orthogonal ±1 patterns one symbol picks from."""
    matrix = np.ones((1, 1), dtype=np.float32)
    while matrix.shape[0] < ALPHABET:
        matrix = np.block([[matrix, matrix], [matrix, -matrix]])
    return matrix


@lru_cache(maxsize=8)
def dct_basis(band: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(64, K) matrix whose columns are the orthonormal 2-D DCT-II basis images of `band`."""
    x = np.arange(BLOCK)
    d = np.sqrt(2.0 / BLOCK) * np.cos((2 * x[None, :] + 1) * x[:, None] * np.pi / (2 * BLOCK))
    d[0] /= np.sqrt(2.0)
    columns = [np.outer(d[u], d[v]).ravel() for u, v in band]
    return np.stack(columns, axis=1).astype(np.float32)


def canonical_shape(height: int, width: int, short: int = 216) -> tuple[int, int]:
    """The grid the mark is drawn on: `short` lines on the short side (rounded to blocks),
    aspect kept, whole 8x8 blocks. A video rescaled to any size maps back onto it."""
    short = max(BLOCK, short // BLOCK * BLOCK)
    long_side = max(1, round(short * max(height, width) / min(height, width) / BLOCK)) * BLOCK
    return (short, long_side) if height <= width else (long_side, short)


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear float32 resize of one plane (Pillow widens the filter when shrinking, so
    a downscale does not alias)."""
    resized = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32)).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    return np.asarray(resized, dtype=np.float32)


@dataclass(frozen=True)
class TileLayout:
    """One seed's keyed tile of `tile` x `tile` canonical pixels. Its (block, coefficient)
    slots are split at random: `payload_slots`, symbol by symbol in whole rounds of 64,
    carry the codeword as Walsh-Hadamard rows masked by `payload_chips`; the rest carry
    `sync_chips`, a fixed keyed pattern the detector locates the tile by. `scramble` is
    XORed onto the symbols so payload 0 is no special pattern. Payload and sync chips are
    separate draws, which is what lets the detector choose an alignment by the sync pattern
    without spending false-positive budget (see docs/provenance.md)."""

    tile: int
    payload_slots: np.ndarray
    payload_chips: np.ndarray
    scramble: np.ndarray
    rounds: int
    sync_slots: np.ndarray
    sync_chips: np.ndarray
    sync_pixels: np.ndarray


class TileCode:
    """Builds and caches the layouts of one key: the per-video seeds share the tile size,
    band and code length, and differ in every keyed choice."""

    def __init__(self, key: bytes, tile: int, band: tuple[tuple[int, int], ...],
                 symbols: int) -> None:
        if tile % BLOCK or tile <= 0:
            raise WatermarkError("the tile must be a whole number of 8x8 blocks")
        self.key = key
        self.tile = tile
        self.band = band
        self.basis = dct_basis(band)
        self.symbols = symbols
        self.blocks = (tile // BLOCK) ** 2
        total = self.blocks * len(band)
        self.rounds = total // (symbols * ALPHABET)
        if self.rounds < 1 or total - self.rounds * symbols * ALPHABET < ALPHABET:
            raise WatermarkError("the tile is too small for the payload and a sync pattern")
        self._cache: dict[int, TileLayout] = {}
        self._lock = threading.Lock()

    def layout(self, seed: int) -> TileLayout:
        with self._lock:
            cached = self._cache.get(seed)
        if cached is not None:
            return cached
        label = f"tile|{seed}|{self.tile}|{self.band}|{self.symbols}".encode()
        digest = hmac.new(self.key, label, hashlib.sha256).digest()
        rng = np.random.Generator(np.random.PCG64(int.from_bytes(digest, "big")))
        order = rng.permutation(self.blocks * len(self.band))
        used = self.rounds * self.symbols * ALPHABET
        payload_chips = (rng.integers(0, 2, size=used) * 2 - 1).astype(np.float32)
        scramble = rng.integers(0, ALPHABET, size=self.symbols).astype(np.int64)
        sync_slots = order[used:]
        sync_chips = (rng.integers(0, 2, size=sync_slots.size) * 2 - 1).astype(np.float32)
        coefficients = np.zeros(order.size, dtype=np.float32)
        coefficients[sync_slots] = sync_chips
        layout = TileLayout(self.tile, order[:used], payload_chips, scramble, self.rounds,
                            sync_slots, sync_chips, self.pixels(coefficients))
        with self._lock:
            self._cache[seed] = layout
        return layout

    def tile_pattern(self, layout: TileLayout, codeword: np.ndarray) -> np.ndarray:
        """The (tile, tile) float32 pattern: payload rows plus the sync chips."""
        sent = codeword ^ layout.scramble
        rows = hadamard()[sent]  # (symbols, 64): each symbol's pattern over one round
        signs = np.broadcast_to(rows[:, None, :], (sent.size, layout.rounds, ALPHABET))
        coefficients = np.zeros(self.blocks * len(self.band), dtype=np.float32)
        coefficients[layout.payload_slots] = layout.payload_chips * signs.ravel()
        coefficients[layout.sync_slots] = layout.sync_chips
        return self.pixels(coefficients)

    def pixels(self, coefficients: np.ndarray) -> np.ndarray:
        side = self.tile // BLOCK
        blocks = coefficients.reshape(self.blocks, len(self.band)) @ self.basis.T
        return blocks.reshape(side, side, BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(
            self.tile, self.tile)

    def features(self, tiles: np.ndarray) -> np.ndarray:
        """(frames, blocks * K) band coefficients of aligned (frames, tile, tile) tiles."""
        frames, side = tiles.shape[0], self.tile // BLOCK
        blocks = tiles.reshape(frames, side, BLOCK, side, BLOCK).transpose(0, 1, 3, 2, 4)
        return (blocks.reshape(frames, self.blocks, BLOCK * BLOCK) @ self.basis).reshape(
            frames, -1)

    def scores(self, features: np.ndarray, layout: TileLayout) -> np.ndarray:
        """(frames, symbols, 64) correlations with every pattern, indexed by codeword value
        (the scramble already undone)."""
        frames = features.shape[0]
        # np.take on an axis is several times faster than fancy indexing here.
        chips = np.take(features, layout.payload_slots, axis=1)
        chips *= layout.payload_chips
        correlations = chips.reshape(frames, self.symbols, layout.rounds, ALPHABET).sum(2)
        correlations = correlations @ hadamard()
        # Sent value = codeword XOR scramble, so codeword value c sits at c XOR scramble.
        unscramble = np.arange(ALPHABET)[None, :] ^ layout.scramble[:, None]
        return np.take_along_axis(correlations, unscramble[None, :, :], axis=2)


def frame_pattern(tile: np.ndarray, height: int, width: int, grid_lines: int,
                  rms: float) -> np.ndarray:
    """The tile repeated over the canonical grid from its top-left corner, resampled to the
    frame and scaled to `rms` (after resampling, which smooths, so the PSNR target holds at
    the frame's size)."""
    canon_h, canon_w = canonical_shape(height, width, grid_lines)
    side = tile.shape[0]
    grid = np.tile(tile, (-(-canon_h // side), -(-canon_w // side)))[:canon_h, :canon_w]
    out = grid if (canon_h, canon_w) == (height, width) else resize(grid, width, height)
    return out * np.float32(rms / max(float(np.sqrt((out**2).mean())), 1e-9))


class Masking:
    """Per-frame gain on a video's pattern from local activity: gain = (activity / the frame's
    mean activity) ^ gamma per block of about 16 lines at 360p, clipped to [1/4, 4],
    interpolated bilinearly between block centres, and normalised so each frame keeps the
    pattern's RMS (the PSNR target).

    Why a negative gamma (more energy where the picture is flat), against the usual
    perceptual rule: measured on H.264 CRF 33, x264's adaptive quantisation spends its bits
    on flat areas and its motion search copies a static mark there from frame to frame,
    while textured areas are quantised coarsely and move; the detector's local
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
        luma = sample @ LUMA if chunk.ndim == 4 else sample
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
