"""The watermark's channel code and its statistics: Reed-Solomon over 6-bit symbols (reedsolo),
the soft vote over frames, and the two bounds on the chance that an unmarked video yields an
accepted payload."""

from __future__ import annotations

import math
import threading

import numpy as np
import reedsolo

PAYLOAD_BYTES = 6
PAYLOAD_BITS = PAYLOAD_BYTES * 8
SYMBOL_BITS = 6
ALPHABET = 1 << SYMBOL_BITS
DATA_SYMBOLS = PAYLOAD_BITS // SYMBOL_BITS
# Mean peakiness of a frame's correlations without a mark is 2.40 (sd 0.08 over frames,
# measured on natural clips); frames below 2.5 only get the floor weight.
NULL_PEAK = 2.5
WEIGHT_FLOOR = 0.01
# Chernoff's bound is minimised over this grid of tilts; any tilt gives a valid bound, so a
# grid only costs a little tightness.
_TILTS = np.geomspace(0.02, 24.0, 64)


class ReedSolomon:
    """Reed-Solomon RS(8 + parity, 8) over GF(2^6) from `reedsolo`, shortened.

    Why reedsolo: a small, pure-Python, long-maintained codec with errors-and-erasures
    decoding, which lets the detector's per-symbol reliabilities pick erasures. Why 6-bit
    symbols: each symbol travels as one of 64 orthogonal patterns (see the watermarker), so
    the channel makes symbol errors, not bit errors, and 48 bits split into 8 whole symbols.
    reedsolo keeps its field tables in module globals, so calls are serialised with a lock.
    """

    _lock = threading.Lock()

    def __init__(self, parity_symbols: int) -> None:
        self.parity = parity_symbols
        self.symbols = DATA_SYMBOLS + parity_symbols
        with self._lock:
            self._codec = reedsolo.RSCodec(parity_symbols, nsize=self.symbols, c_exp=SYMBOL_BITS)

    def encode(self, payload: bytes) -> np.ndarray:
        """Payload bytes -> codeword symbols (int64, 0..63), systematic: data first."""
        data = bits_to_symbols(np.unpackbits(np.frombuffer(payload, dtype=np.uint8)))
        with self._lock:
            codeword = self._codec.encode(bytearray(int(s) for s in data))
        return np.frombuffer(bytes(codeword), dtype=np.uint8).astype(np.int64)

    def candidates(self, ranked: np.ndarray, margins: np.ndarray, swaps: int = 0) -> list[bytes]:
        """Payloads whose codewords lie near the received word.

        `ranked` is (symbols, 2): best and runner-up value per position; `margins` how far
        the best led. Chase-style list decoding: erase the least reliable positions in
        growing numbers (RS corrects 2 * errors + erasures <= parity), and, when `swaps` > 0,
        retry with every combination of the `swaps` least reliable positions replaced by
        their runner-up. The caller decides which candidate, if any, is close enough.
        """
        order = [int(i) for i in np.argsort(margins, kind="stable")]
        found: list[bytes] = []
        with self._lock:
            for pattern in range(1 << swaps):
                word = ranked[:, 0].copy()
                for position in range(swaps):
                    if pattern >> position & 1:
                        word[order[position]] = ranked[order[position], 1]
                received = bytearray(int(v) for v in word)
                for erasures in range(0, self.parity + 1, 2):
                    try:
                        message, _, _ = self._codec.decode(received, erase_pos=order[:erasures])
                    except reedsolo.ReedSolomonError:
                        continue
                    symbols = np.frombuffer(bytes(message), dtype=np.uint8)
                    payload = np.packbits(symbols_to_bits(symbols)).tobytes()
                    if payload not in found:
                        found.append(payload)
        return found


def bits_to_symbols(bits: np.ndarray) -> np.ndarray:
    weights = 1 << np.arange(SYMBOL_BITS - 1, -1, -1)
    return (bits.reshape(-1, SYMBOL_BITS).astype(np.int64) * weights).sum(axis=1)


def symbols_to_bits(symbols: np.ndarray) -> np.ndarray:
    shifts = np.arange(SYMBOL_BITS - 1, -1, -1)
    return ((symbols.astype(np.int64)[..., None] >> shifts) & 1).astype(np.uint8).reshape(
        *symbols.shape[:-1], -1
    )


def _log10_union(hypotheses: int) -> float:
    """log10 of how many (codeword, hypothesis) pairs an unmarked video could match."""
    return math.log10(hypotheses) + PAYLOAD_BITS * math.log10(2)


def log10_false_positive(agreements: int, symbols: int, hypotheses: int) -> float:
    """log10 of the bound on the chance that an unmarked video yields an accepted payload,
    from the number of codeword positions whose detected value matches.

    Null model. The detected value at each codeword position is the argmax of 64
    correlations with Walsh-Hadamard patterns masked by keyed random chips. Flipping the
    chips by any Hadamard row permutes those 64 correlations (a dyadic shift), and every
    such flip is equally likely under the key, so on an unmarked video each position reads
    a uniform value in 0..63, independently of the other positions (disjoint chips). Ties
    count as misses, so flat or black video reads nothing.

    Bound. A fixed codeword then matches at least `a` of the N positions with probability
    P[Bin(N, 1/64) >= a]. A union bound over all 2^48 codewords and the alignment
    hypotheses read per seed:
        FP(a) <= hypotheses * 2^48 * sum_{j>=a} C(N, j) 63^(N-j) / 64^N.
    Per-video seeds add no factor: a payload is only accepted under the seed it hashes
    to, so each seed admits its own 1/seeds share of the codewords and the shares add up
    to 2^48. Alignments chosen by the sync pattern add no factor beyond those read: the
    sync chips are drawn apart from the payload chips, so given the choice each position
    still reads a uniform value. For RS(20, 8) and 3 hypotheses, FP <= 1e-6 needs 15
    matching positions (14 give 1.5e-6).
    """
    tail = sum(
        math.comb(symbols, j) * (ALPHABET - 1) ** (symbols - j)
        for j in range(agreements, symbols + 1)
    )
    if tail == 0:
        return -math.inf
    return _log10_union(hypotheses) + math.log10(tail) - symbols * math.log10(ALPHABET)


def standardise(vote: np.ndarray) -> np.ndarray:
    """Each position's 64 votes as z-scores (a permutation of them permutes the z-scores)."""
    centred = vote - vote.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)


def log10_soft_false_positive(z: np.ndarray, total: float, hypotheses: int) -> float:
    """log10 of the bound on the chance that an unmarked video yields a codeword whose
    standardised votes `z` (positions x 64) sum to at least `total`.

    Soft decisions: a position where the right value came second still counts, which the
    match count above throws away; after H.264 at CRF 33 that is most of the evidence.

    Null model, conditionally on the votes. The same dyadic-shift argument as for the
    match count, applied to the whole vote vector: under the key, each position's 64 votes
    are a uniformly shifted permutation of themselves, so for a fixed codeword the vote it
    picks at position i is a uniform draw from that position's 64 values, independently
    across positions. Chernoff's bound on the sum of those draws, for any tilt t > 0:
        P[sum >= total] <= exp(sum_i log(mean_v exp(t z_iv)) - t * total),
    then the same union bound over 2^48 codewords and the alignment hypotheses.
    """
    tilted = _TILTS[:, None, None] * z[None, :, :]
    peak = tilted.max(axis=2)
    log_mgf = (peak + np.log(np.exp(tilted - peak[..., None]).mean(axis=2))).sum(axis=1)
    log_tail = min(0.0, float((log_mgf - _TILTS * total).min()))
    return _log10_union(hypotheses) + log_tail / math.log(10)


def peakiness(correlations: np.ndarray) -> np.ndarray:
    """Per (..., symbol): how far the best of the 64 correlations stands above the others, in
    their own standard deviations. Without a mark this is the maximum of 64 roughly normal
    values, about 2.4; a readable mark lifts it well above."""
    centred = correlations - correlations.mean(axis=-1, keepdims=True)
    spread = centred.std(axis=-1)
    return np.divide(centred.max(axis=-1), spread, out=np.zeros_like(spread), where=spread > 0)


def weighted_vote(scores: np.ndarray) -> tuple[np.ndarray, float]:
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
    excess = np.maximum(peakiness(scaled).mean(axis=1) - NULL_PEAK, 0.0)
    vote = (scaled * (excess**2 + WEIGHT_FLOOR)[:, None, None]).sum(axis=0)
    return vote, float(peakiness(vote).mean())


def decide(vote: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best and runner-up value per position, and the lead of the best."""
    order = np.argsort(-vote, axis=1, kind="stable")
    best, second = order[:, 0], order[:, 1]
    rows = np.arange(vote.shape[0])
    return best, second, vote[rows, best] - vote[rows, second]


def agreements(vote: np.ndarray, codeword: np.ndarray) -> int:
    """Positions where the codeword's value strictly beats every other value."""
    rows = np.arange(vote.shape[0])
    chosen = vote[rows, codeword]
    others = vote.copy()
    others[rows, codeword] = -np.inf
    return int(np.count_nonzero(chosen > others.max(axis=1)))
