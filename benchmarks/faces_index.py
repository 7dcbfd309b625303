"""1:N query latency of the face index at 10^4, 10^5 and 10^6 enrolled templates, beside a
brute-force numpy scan of the same templates in the same run (also the recall reference).

    python -m benchmarks.faces_index [--sizes 10000,100000,1000000] [--queries 1000]

Templates are synthetic 128-D dlib-like vectors: identities spread over a 32-dimensional
subspace (real embeddings are far from isotropic) at typical different-person distances
of 0.7-1.0; each query is an enrolled identity seen again (L2 noise ~0.35) or a stranger.
"""

from __future__ import annotations

import os
import sys

# One core means one thread: BLAS and OpenMP pools sized for every core would spin against
# each other on the one core the benchmark is pinned to. Set before numpy loads them.
if "--all-cores" not in sys.argv:
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import argparse
import time

import numpy as np

from benchmarks._common import percentile, table
from domain.faces import FaceTemplate, Metric
from inference.face_index import TieredFaceIndex

MODEL = "dlib-resnet-v1-128"
DIM, RANK = 128, 32


def identities(count: int, rng: np.random.Generator) -> np.ndarray:
    basis = np.linalg.qr(rng.normal(size=(DIM, RANK)))[0].T  # orthonormal rows
    scale = 0.6 / np.sqrt(RANK)
    vectors = rng.normal(scale=scale, size=(count, RANK)).astype(np.float32) @ basis
    vectors += rng.normal(scale=0.02, size=vectors.shape)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def brute_force(vectors: np.ndarray, norms: np.ndarray, query: np.ndarray) -> int:
    return int(np.argmin(norms - 2.0 * (vectors @ query)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--nprobe", type=int, default=None, help="IVF cells probed")
    parser.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    args = parser.parse_args()
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = np.random.default_rng(7)
    sizes = [int(s) for s in args.sizes.split(",")]
    everyone = identities(max(sizes), rng)
    rows, p99_by_size = [], {}
    for size in sizes:
        vectors = everyone[:size]
        ids = [f"identity-{i}" for i in range(size)]
        index = TieredFaceIndex(MODEL, Metric.L2) if args.nprobe is None else \
            TieredFaceIndex(MODEL, Metric.L2, nprobe=args.nprobe)
        started = time.perf_counter()
        index.load(ids, vectors)
        build = time.perf_counter() - started
        norms = np.einsum("ij,ij->i", vectors, vectors)
        seen_again = rng.integers(0, size, args.queries // 2)
        probes = [vectors[i] + rng.normal(scale=0.35 / np.sqrt(DIM), size=DIM)
                  for i in seen_again]
        strangers = identities(args.queries - len(probes), rng)
        queries = [np.asarray(q, dtype=np.float32) for q in [*probes, *strangers]]
        ours, ours_cpu, base, hits, agree = [], [], [], 0, 0
        for n, query in enumerate(queries):
            template = FaceTemplate(MODEL, Metric.L2, tuple(float(v) for v in query))
            c0, t0 = time.thread_time(), time.perf_counter()
            found = index.search(template, k=3)
            t1, c1 = time.perf_counter(), time.thread_time()
            ours_cpu.append((c1 - c0) * 1000)
            truth = brute_force(vectors, norms, query)
            t2 = time.perf_counter()
            ours.append((t1 - t0) * 1000)
            base.append((t2 - t1) * 1000)
            agree += bool(found) and found[0].subject_id == ids[truth]
            if n < len(probes):
                hits += bool(found) and found[0].subject_id == ids[seen_again[n]]
        p99_by_size[size] = (percentile(ours, 99), percentile(ours_cpu, 99))
        rows.append([f"{size:,}", "ivf" if index.approximate else "exact", build,
                     percentile(ours, 50), percentile(ours, 99), percentile(ours_cpu, 99),
                     percentile(base, 50),
                     percentile(base, 99), f"{percentile(ours, 99) / percentile(base, 99):.3f}",
                     f"{agree / len(queries):.4f}", f"{hits / len(probes):.4f}"])
        del index
    print(f"{args.queries} queries per size (half enrolled people seen again, half "
          f"strangers), k=3; {'all cores' if args.all_cores else 'one core'}\n")
    print("p99 cpu: the same queries in this thread's CPU time, which leaves out waiting for a "
          "core that other processes hold\n")
    print(table(["templates", "tier", "build s", "p50 ms", "p99 ms", "p99 cpu ms",
                 "brute p50 ms",
                 "brute p99 ms", "p99/brute", "recall@1 vs exact", "finds person"], rows))
    keys = " ".join(f"p99_ms_{_label(size)}={p99:.3f} p99_cpu_ms_{_label(size)}={cpu:.3f}"
                    for size, (p99, cpu) in p99_by_size.items())
    print(f"RESULT {keys}")


def _label(size: int) -> str:
    for unit, div in (("1m", 1_000_000), ("100k", 100_000), ("10k", 10_000)):
        if size == div:
            return unit
    return str(size)


if __name__ == "__main__":
    main()
