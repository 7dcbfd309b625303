"""A retroactive scan over 100,000 published videos: a work registered (every prompt against
its names) and a reference added (every video's recorded frame hashes against the
reference's), timed to the end of both scans; and the gate's p99 while they run beside its
p99 idle, in the same run.

    python -m benchmarks.retroactive [--videos 100000] [--gate-requests 300]

Embedded store (SQLite); every video recorded 20 frame hashes; 1 in 1,000 prompts names the
work, 1 in 1,000 videos shows it. The scan of a newly verified person's face is not built:
`person_seconds` is reported as not measured."""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from uuid import UUID

import numpy as np

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from benchmarks._common import percentile, table
from benchmarks.hash_bank import FRAMES, bank, flip, hexes
from benchmarks.takedown import published
from domain.actors import SYSTEM, Actor, Role
from domain.member import Member
from domain.rights_holder import RightsHolder
from domain.services import Consentry

ALIAS = "Whiskers McPurr"


def build(app: Consentry, videos: int, rng: np.random.Generator) -> tuple[str, int]:
    """Returns (the reference hash, how many videos use the work)."""
    members = [Member.register(SYSTEM, f"m{i}") for i in range(1000)]
    app.commit(*members)
    words = bank(videos, rng)
    reference = rng.integers(0, 2**63, 4, dtype=np.uint64)  # in no video but those below
    batch = []
    users = 0
    for i in range(videos):
        frames = words[i * FRAMES:(i + 1) * FRAMES]
        prompt = "a day out"
        if i % 1000 == 1:
            prompt, users = f"{ALIAS} naps in the sun", users + 1
        if i % 1000 == 2:  # shows the work in most of its frames
            frames = flip(np.repeat(reference[None], FRAMES, axis=0),
                          rng.integers(2, 20, FRAMES), rng)
            users += 1
        batch.append(published(app, members[i % 1000], hexes(frames), prompt))
        if len(batch) >= 2000:
            app.commit(*batch)
            batch = []
    app.commit(*batch)
    return hexes(reference[None])[0], users


def gate_latencies(app: Consentry, member: Actor, count: int) -> list[float]:
    out = []
    for i in range(count):
        t = time.perf_counter()
        app.request_generation(member, f"a quiet lake at dawn number {i}", (), 5)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--gate-requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        container = bootstrap(Settings(store="sqlite", data_dir=Path(tmp),
                                       prompt_models="keywords"))
        app = container.app
        started = time.perf_counter()
        reference, users = build(app, args.videos, np.random.default_rng(3))
        print(f"{args.videos:,} published videos written in "
              f"{time.perf_counter() - started:.0f}s")
        app.run_retroactive_scans()  # the catalogue and indexes, as a running server has them
        requester = Member.register(SYSTEM, "requester")
        app.commit(requester)
        me = Actor(str(requester.id), Role.MEMBER)
        gate_latencies(app, me, 20)  # warm
        idle = gate_latencies(app, me, args.gate_requests)

        holder = RightsHolder.onboard(SYSTEM, "Tabby Pictures", "proof")
        app.commit(holder)
        studio = Actor(str(holder.id), Role.RIGHTS_HOLDER)
        during: list[float] = []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                during.extend(gate_latencies(app, me, 10))

        t0 = time.perf_counter()
        work_id = UUID(app.register_work(studio, ALIAS, "character", (), "",
                                         match_policy="track"))
        app.add_work_reference(studio, work_id, "d" * 64, "image/png",
                               {"pdq/f0/original": reference})
        loader = threading.Thread(target=load)
        loader.start()
        scans = app.run_retroactive_scans()
        work_seconds = time.perf_counter() - t0
        stop.set()
        loader.join()
        container.close()
    found = sum(s["matched"] for s in scans)
    print(table(["", "value"], [
        ["published videos", args.videos], ["videos using the work", users],
        ["matched by the scans", found], ["work scans, s", work_seconds],
        ["gate p99 idle, ms", percentile(idle, 99)],
        ["gate p99 during the scan, ms", percentile(during, 99)],
        ["gate requests during the scan", len(during)]]))
    ratio = percentile(during, 99) / percentile(idle, 99)
    print(f"RESULT work_seconds={work_seconds:.1f} person_seconds=not_built "
          f"gate_p99_ratio={ratio:.2f} matched={found} using={users} videos={args.videos}")


if __name__ == "__main__":
    main()
