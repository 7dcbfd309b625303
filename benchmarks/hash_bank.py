"""The hash bank's search: one 10 s clip's frame hashes (20, sampled at 2/s) against 10^6
banked PDQ hashes (10^7 with --sizes), by the multi-index (`inference.hash_bank`) beside a
linear scan of the same hashes in the same run (also the recall reference).

    python -m benchmarks.hash_bank [--sizes 1000000] [--clips 200]

Synthetic bank: clips of 20 frames whose hashes are one random 256-bit hash with 0-24 bits
flipped per frame (frames of a clip are alike); queries: half are banked clips re-encoded
(each frame 4-40 more bits flipped), half unrelated clips. `lookups_per_s` counts clip
frames searched per second on one core; `p99_ms` is per clip (20 frames).
"""

from __future__ import annotations

import os
import sys

if "--all-cores" not in sys.argv:
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import argparse
import time
from uuid import UUID

import numpy as np

from benchmarks._common import percentile, table
from inference.hash_bank import MATCH, REVIEW, PdqMultiIndex

FRAMES = 20


def flip(words: np.ndarray, bits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row of (n, 4) uint64 with `bits[i]` random bits flipped."""
    out = words.copy()
    for i, count in enumerate(bits):
        for bit in rng.choice(256, int(count), replace=False):
            out[i, bit // 64] ^= np.uint64(1) << np.uint64(bit % 64)
    return out


def bank(clips: int, rng: np.random.Generator) -> np.ndarray:
    """(clips * FRAMES, 4) uint64: per clip, a base hash and its frames around it."""
    base = rng.integers(0, 2**63, (clips, 4), dtype=np.uint64) \
        | (rng.integers(0, 2, (clips, 4), dtype=np.uint64) << np.uint64(63))
    frames = np.repeat(base, FRAMES, axis=0)
    # flip a few bits per frame, vectorised: xor random sparse masks
    masks = np.zeros_like(frames)
    for _ in range(12):  # ~12 random bit positions per frame, some cancel or repeat
        bit = rng.integers(0, 256, len(frames))
        keep = rng.random(len(frames)) < 0.9
        masks[np.arange(len(frames))[keep], bit[keep] // 64] ^= \
            np.uint64(1) << (bit[keep] % 64).astype(np.uint64)
    return frames ^ masks


def hexes(words: np.ndarray) -> list[str]:
    return [bytes(row.tobytes()).hex() for row in words]


def linear(columns: np.ndarray, query: np.ndarray) -> np.ndarray:
    total = np.bitwise_count(columns[0] ^ query[0]).astype(np.uint16)
    for k in range(1, 4):
        total += np.bitwise_count(columns[k] ^ query[k])
    return total


def run(size: int, clips: int, rng: np.random.Generator) -> dict[str, float]:
    words = bank(size // FRAMES, rng)
    started = time.perf_counter()
    index = PdqMultiIndex()
    index.add_many([(UUID(int=i + 1), words[i * FRAMES:(i + 1) * FRAMES])
                    for i in range(len(words) // FRAMES)])
    build_s = time.perf_counter() - started
    queries = []
    for c in range(clips):
        if c % 2 == 0:  # a banked clip, re-encoded
            at = int(rng.integers(0, len(words) // FRAMES)) * FRAMES
            queries.append(flip(words[at:at + FRAMES], rng.integers(4, 41, FRAMES), rng))
        else:
            queries.append(rng.integers(0, 2**63, (FRAMES, 4), dtype=np.uint64))
    query_hex = [hexes(q) for q in queries]

    index.matches(query_hex[0])  # warm
    times = []
    found: list[set[tuple[int, int]]] = []
    for q in query_hex:
        t = time.perf_counter()
        index.matches(q)
        times.append(time.perf_counter() - t)
        rows, numbers, distance, _ = index.search(q, REVIEW)
        found.append({(int(r), int(n)) for r, n in zip(rows, numbers, strict=True)})
    columns = np.ascontiguousarray(words.T)
    linear_times = []
    want_match = want_near = got_match = got_near = 0
    for q, got in zip(queries, found, strict=True):
        t = time.perf_counter()
        per_frame = [linear(columns, frame) for frame in q]
        linear_times.append(time.perf_counter() - t)
        for row, distance in enumerate(per_frame):
            for at in np.flatnonzero(distance <= REVIEW):
                key = (row, int(at) // FRAMES)
                if distance[at] <= MATCH:
                    want_match += 1
                    got_match += key in got
                else:
                    want_near += 1
                    got_near += key in got
    return {"size": size, "build_s": build_s,
            "lookups_per_s": FRAMES * len(times) / sum(times),
            "p50_ms": percentile(times, 50) * 1000, "p99_ms": percentile(times, 99) * 1000,
            "linear_lookups_per_s": FRAMES * len(linear_times) / sum(linear_times),
            "linear_p99_ms": percentile(linear_times, 99) * 1000,
            "bytes_per_hash": index.nbytes / len(words),
            "match_recall": got_match / max(1, want_match),
            "near_recall": got_near / max(1, want_near)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--all-cores", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(13)
    results = [run(int(s), args.clips, rng) for s in args.sizes.split(",")]
    print(table(["hashes", "build s", "MIH frames/s", "MIH p50 ms", "MIH p99 ms",
                 "linear frames/s", "linear p99 ms", "speedup", "bytes/hash",
                 "recall <=31", "recall 32-45"],
                [[r["size"], r["build_s"], r["lookups_per_s"], r["p50_ms"], r["p99_ms"],
                  r["linear_lookups_per_s"], r["linear_p99_ms"],
                  r["lookups_per_s"] / r["linear_lookups_per_s"], r["bytes_per_hash"],
                  r["match_recall"], r["near_recall"]] for r in results]))
    r = results[0]
    print(f"RESULT lookups_per_s={r['lookups_per_s']:.0f} p99_ms={r['p99_ms']:.2f} "
          f"bytes_per_hash={r['bytes_per_hash']:.1f} "
          f"linear_lookups_per_s={r['linear_lookups_per_s']:.0f} "
          f"speedup={r['lookups_per_s'] / r['linear_lookups_per_s']:.1f} "
          f"match_recall={r['match_recall']:.3f} near_recall={r['near_recall']:.3f} "
          f"hashes={r['size']}")


if __name__ == "__main__":
    main()
