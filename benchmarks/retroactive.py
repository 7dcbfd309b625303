"""A retroactive scan over 100,000 published videos: a work registered (every prompt against
its names) and a reference added (every video's recorded frame hashes against the
reference's), timed to the end of both scans; and the gate's p99 while they run beside its
p99 idle, in the same run.

    python -m benchmarks.retroactive [--videos 100000] [--gate-requests 300]

Then a member verifies and the scan of her face runs over the same videos (every video's
scan kept one sealed face-track template; 1 in 1,000 shows her), timed from her verification
to the end of that scan, with the gate's p99 during it. The face-track follower reads the
log on its first comparison: that catch-up is inside `person_seconds`, as it is for the first
person who verifies after a server starts.

Embedded store (SQLite); every video recorded 20 frame hashes; 1 in 1,000 prompts names the
work, 1 in 1,000 videos shows it. While it writes the videos the benchmark turns the key
store's fsync off (the worker creates one key per video as it scans it), and back on."""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from benchmarks._common import percentile, table
from benchmarks.hash_bank import FRAMES, bank, flip, hexes
from benchmarks.takedown import published
from domain.actors import SYSTEM, Actor, Role
from domain.faces import FaceTemplate, Metric, generation_key
from domain.ids import identity_id
from domain.member import Member
from domain.rights_holder import RightsHolder
from domain.services import Consentry
from inference.faces_dlib import MODEL_ID
from tests.fakes import WORKER

ALIAS = "Whiskers McPurr"


def face(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0, 0.09, 128)  # dlib-like: unrelated faces about 1.0 apart


def template(vector: np.ndarray) -> FaceTemplate:
    return FaceTemplate(MODEL_ID, Metric.L2, tuple(float(x) for x in vector))


def build(container: Container, videos: int, person: np.ndarray, rng: np.random.Generator
          ) -> tuple[str, int, int]:
    """Returns (the reference hash, how many videos use the work, how many show
    `person`)."""
    app = container.app
    members = [Member.register(SYSTEM, f"m{i}") for i in range(1000)]
    app.commit(*members)
    words = bank(videos, rng)
    reference = rng.integers(0, 2**63, 4, dtype=np.uint64)  # in no video but those below
    batch = []
    users = shown = 0
    keys = container.key_store._db  # type: ignore[union-attr]  # a SqliteKeyStore
    keys.execute("PRAGMA synchronous = OFF")  # one key per video: not one fsync each here
    for i in range(videos):
        frames = words[i * FRAMES:(i + 1) * FRAMES]
        prompt = "a day out"
        if i % 1000 == 1:
            prompt, users = f"{ALIAS} naps in the sun", users + 1
        if i % 1000 == 2:  # shows the work in most of its frames
            frames = flip(np.repeat(reference[None], FRAMES, axis=0),
                          rng.integers(2, 20, FRAMES), rng)
            users += 1
        seen = face(rng)
        if i % 1000 == 3:
            step = rng.normal(size=128)
            seen, shown = person + 0.2 * step / np.linalg.norm(step), shown + 1
        batch.append(published(
            app, members[i % 1000], hexes(frames), prompt, face_model=MODEL_ID,
            seal=lambda gid, seen=seen: (  # type: ignore[misc]
                container.vault.seal(generation_key(gid), template(seen)),)))
        if len(batch) >= 2000:
            app.commit(*batch)
            batch = []
    app.commit(*batch)
    keys.execute("PRAGMA synchronous = FULL")
    return hexes(reference[None])[0], users, shown


def gate_latencies(app: Consentry, member: Actor, count: int) -> list[float]:
    out = []
    for i in range(count):
        t = time.perf_counter()
        app.request_generation(member, f"a quiet lake at dawn number {i}", (), 5)
        out.append((time.perf_counter() - t) * 1000)
    return out


def during_scans(app: Consentry, me: Actor, during: list[float]) -> Callable[[], Any]:
    """Starts gate requests on a thread; returns what stops it."""
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            during.extend(gate_latencies(app, me, 10))

    loader = threading.Thread(target=load)
    loader.start()

    def stopped() -> None:
        stop.set()
        loader.join()
    return stopped


def verify(app: Consentry, vault: Any, person: np.ndarray) -> Actor:
    """A member verifies (what the verification worker records), her match policy `track`."""
    member = Member.register(SYSTEM, "newcomer")
    app.commit(member)
    me = Actor(str(member.id), Role.MEMBER)
    app.set_person_match_policy(me, "track")
    challenge = app.start_verification(me)
    app.submit_verification(me, challenge["nonce"], "e" * 64)
    sealed = vault.seal(str(identity_id(member.id)), template(person))
    app.complete_verification(WORKER, member.id, sealed, MODEL_ID, 0.9, 0.95)
    return me


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--gate-requests", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(3)
    person = face(rng)
    with tempfile.TemporaryDirectory() as tmp:
        container = bootstrap(Settings(store="sqlite", data_dir=Path(tmp),
                                       prompt_models="keywords"))
        app = container.app
        started = time.perf_counter()
        reference, users, shown = build(container, args.videos, person, rng)
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
        t0 = time.perf_counter()
        work_id = UUID(app.register_work(studio, ALIAS, "character", (), "",
                                         match_policy="track"))
        app.add_work_reference(studio, work_id, "d" * 64, "image/png",
                               {"pdq/f0/original": reference})
        stop = during_scans(app, me, during)
        scans = app.run_retroactive_scans()
        work_seconds = time.perf_counter() - t0
        stop()

        during_person: list[float] = []
        t0 = time.perf_counter()
        newcomer = verify(app, container.vault, person)
        stop = during_scans(app, me, during_person)
        person_scans = app.run_retroactive_scans()
        person_seconds = time.perf_counter() - t0
        stop()
        [theirs] = app.person_retroactive_scans(newcomer)["items"]
        container.close()
    found = sum(s["matched"] for s in scans)
    print(table(["", "value", "gate p99 / idle"], [
        ["published videos", args.videos, ""], ["videos using the work", users, ""],
        ["matched by the work scans", found, ""], ["work scans, s", work_seconds, ""],
        ["videos showing the person", shown, ""],
        ["matched by the person's scan", theirs["matched"], ""],
        ["unchecked by it", theirs["unchecked"], ""],
        ["person scan, s", person_seconds, ""],
        ["gate p99 idle, ms", percentile(idle, 99), 1.0],
        ["gate p99 during the work scans, ms", percentile(during, 99),
         percentile(during, 99) / percentile(idle, 99)],
        ["gate p99 during the person scan, ms", percentile(during_person, 99),
         percentile(during_person, 99) / percentile(idle, 99)],
        ["gate requests during the scans", len(during) + len(during_person), ""]]))
    ratio = percentile(during, 99) / percentile(idle, 99)
    ratio_person = percentile(during_person, 99) / percentile(idle, 99)
    assert len(person_scans) == 1 and theirs["finished"]
    print(f"RESULT work_seconds={work_seconds:.1f} person_seconds={person_seconds:.1f} "
          f"gate_p99_ratio={ratio:.2f} gate_p99_ratio_person={ratio_person:.2f} "
          f"matched={found} using={users} person_matched={theirs['matched']} shown={shown} "
          f"videos={args.videos}")


if __name__ == "__main__":
    main()
