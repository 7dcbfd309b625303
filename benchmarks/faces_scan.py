"""Cost of the face scan of a real clip on one core: the whole pipeline (decode, sample,
detect, embed, track, match against cameos and a 1:N index) beside the bare detector and
embedder calls on the same sampled frames, decoded beforehand, in the same run.

    python -m benchmarks.faces_scan --video ../shared/data/video/short_hamilton_clip.mp4
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
import statistics
import time
from pathlib import Path

import av
import numpy as np

from benchmarks._common import table
from domain.faces import FaceTemplate, Metric
from inference.face_index import TieredFaceIndex
from inference.face_scan import FaceScanService, ScanSettings, sample_frames
from inference.faces_dlib import DlibFaceAnalyzer


def clip_facts(path: Path) -> tuple[int, float, int, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        rate = float(stream.average_rate or 30)
        return frames, frames / rate, stream.codec_context.width, stream.codec_context.height


def enrolled_index(model_id: str, count: int) -> TieredFaceIndex:
    """`count` made-up identities: the 1:N search costs what it would with real ones."""
    vectors = np.random.default_rng(0).normal(scale=0.09, size=(count, 128))
    index = TieredFaceIndex(model_id, Metric.L2)
    index.rebuild((f"identity-{i}", FaceTemplate(model_id, Metric.L2, tuple(map(float, v))))
                  for i, v in enumerate(vectors))
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--fps", type=float, default=2.0, help="frames sampled per second")
    parser.add_argument("--enrolled", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    args = parser.parse_args()
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    frames, seconds, width, height = clip_facts(args.video)
    analyzer = DlibFaceAnalyzer()
    index = enrolled_index(analyzer.model_id, args.enrolled)
    sampled = list(sample_frames(args.video, args.fps))
    # A cameo to match against: the first face of the clip, as if its owner were named.
    cameo = next(analyzer.embed(image, found[:1])[0] for _, image in sampled
                 if (found := analyzer.detect(image)))
    service = FaceScanService(analyzer, index, ScanSettings(sample_fps=args.fps))

    bare_runs, bare_stages, pipe_runs, pipe_stages = [], [], [], []
    bare_cpu, pipe_cpu = [], []
    faces_seen = 0
    for _ in range(args.repeat):
        detect = embed = 0.0
        faces_seen = 0
        started, cpu = time.perf_counter(), time.process_time()
        for _, image in sampled:
            t0 = time.perf_counter()
            found = analyzer.detect(image)
            t1 = time.perf_counter()
            analyzer.embed(image, found)
            t2 = time.perf_counter()
            detect, embed, faces_seen = detect + t1 - t0, embed + t2 - t1, faces_seen + len(found)
        bare_runs.append(time.perf_counter() - started)
        bare_cpu.append(time.process_time() - cpu)
        bare_stages.append({"detect": detect, "embed": embed})
        started, cpu = time.perf_counter(), time.process_time()
        report = service.scan_video(args.video, {"cameo": cameo})
        pipe_runs.append(time.perf_counter() - started)
        pipe_cpu.append(time.process_time() - cpu)
        pipe_stages.append(dict(report.stage_seconds))

    bare, pipe = statistics.median(bare_runs), statistics.median(pipe_runs)
    ratio = pipe / bare
    stage_names = ["decode", "detect", "embed", "track"]
    rows = []
    for name in stage_names:
        p = statistics.median(s.get(name, 0.0) for s in pipe_stages)
        b = statistics.median(s.get(name, 0.0) for s in bare_stages)
        rows.append([name, b * 1000, p * 1000, f"{p / b:.2f}" if b else "-",
                     p / len(sampled) * 1000])
    rows.append(["total", bare * 1000, pipe * 1000, f"{ratio:.2f}", pipe / len(sampled) * 1000])
    cpu_bare, cpu_pipe = statistics.median(bare_cpu), statistics.median(pipe_cpu)
    rows.append(["total, CPU time", cpu_bare * 1000, cpu_pipe * 1000,
                 f"{cpu_pipe / cpu_bare:.2f}", cpu_pipe / len(sampled) * 1000])
    print(f"{args.video.name}: {width}x{height}, {frames} frames, {seconds:.2f} s; sampled "
          f"{len(sampled)} frames at {args.fps} fps; {faces_seen} faces; "
          f"{len(index)} enrolled identities; "
          f"{'all cores' if args.all_cores else 'one core'}; median of {args.repeat} runs\n")
    print(table(["stage", "bare ms", "pipeline ms", "pipeline/bare", "ms/sampled frame"], rows))
    print("\ntracks: " + "; ".join(
        f"#{t.track_id} {t.first_seconds:.1f}-{t.last_seconds:.1f}s {t.frames} frames "
        f"{t.verdict.value}" + (f" {t.best.subject_id}@{t.best.distance:.3f}" if t.best else "")
        for t in report.tracks))
    per_10s = pipe * 10.0 / seconds
    print(f"RESULT fps={len(sampled) / pipe:.2f} ratio_vs_bare={ratio:.3f} "
          f"seconds_per_10s_clip={per_10s:.2f} video_fps={frames / pipe:.1f} "
          f"sampled_frames={len(sampled)} faces={faces_seen} bare_s={bare:.3f} "
          f"pipeline_s={pipe:.3f} ratio_cpu={cpu_pipe / cpu_bare:.3f} "
          f"cpu_seconds_per_10s_clip={cpu_pipe * 10.0 / seconds:.2f}")


if __name__ == "__main__":
    main()
