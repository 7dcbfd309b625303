"""A validated takedown with 100,000 published videos: from the reviewer's validation to the
last copy out of the feed (the named video, its remix and two re-encoded copies found by
their frames, in one transaction, then the feed read model applying it), p50/p99; and from
filing to out of the feed when the reviewer acts at once. Beside it, in the same run, a
reviewer's plain removal of one video (no copies searched), the baseline.

    python -m benchmarks.takedown [--videos 100000] [--requests 30]

Embedded store (SQLite), in-memory read models; every video's scan recorded 20 frame hashes
(a 10 s clip at 2/s)."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import numpy as np

from adapters.bootstrap import bootstrap
from adapters.read_side import ReadSide
from adapters.settings import Settings
from benchmarks._common import percentile, table
from benchmarks.hash_bank import FRAMES, bank, flip, hexes
from domain.actors import SYSTEM, Actor, Role
from domain.generation import Generation
from domain.member import Member
from domain.services import Consentry
from domain.takedown import TakedownRequest, request_id
from tests.fakes import WORKER, findings

REVIEWER = Actor("bench-reviewer", Role.REVIEWER)
PUBLIC = Actor("public:bench", Role.PUBLIC)


def published(app: Consentry, member: Member, frames: list[str], prompt: str,
              remix_of: UUID | None = None,
              seal: Callable[[UUID], tuple[bytes, ...]] | None = None,
              face_model: str = "") -> Generation:
    """A published video whose scan recorded `frames` (PDQ hex) and, with `seal`, one
    unknown face track of `face_model` for each template `seal` kept for the video."""
    me = Actor(str(member.id), Role.MEMBER)
    g = Generation.request(me, member.id, prompt, (), 10, {}, remix_of)
    g.decide(me, "allow", (), (), (), {})
    g.record_render(WORKER, "a" * 64, 240, 10.0, "w", 1)
    sealed_tracks = seal(g.id) if seal is not None else ()
    found = findings(frame_hashes=tuple(frames), tracks=tuple(
        {"track_id": i, "verdict": "unknown", "candidates": []}
        for i in range(len(sealed_tracks))))
    if sealed_tracks:
        found["faces"]["model_id"] = face_model
    g.record_scan(WORKER, found, (), sealed_tracks)
    g.record_watermark(WORKER, f"{g.id.int % 2**48:012x}", "m" * 64, "p" * 64)
    g.publish(WORKER)
    return g


def build(app: Consentry, videos: int, requests: int, rng: np.random.Generator
          ) -> tuple[list[UUID], list[UUID]]:
    """(the videos requests name, those a reviewer removes for the baseline)."""
    members = [Member.register(SYSTEM, f"m{i}") for i in range(1000)]
    app.commit(*members)
    words = bank(videos, rng)
    batch: list[Generation] = []
    made: list[Generation] = []
    for i in range(videos - 4 * requests):
        made.append(published(app, members[i % 1000],
                              hexes(words[i * FRAMES:(i + 1) * FRAMES]), "a day out"))
        batch.append(made[-1])
        if len(batch) >= 2000:
            app.commit(*batch)
            batch = []
    app.commit(*batch)
    named, plain = [], []
    for r in range(requests):  # each: the video, a remix, two re-encoded copies
        source = made[r]
        frames = words[r * FRAMES:(r + 1) * FRAMES]
        extra = [published(app, members[(r + 1) % 1000], hexes(rng.integers(
            0, 2**63, (FRAMES, 4), dtype=np.uint64)), "the same, at night", source.id)]
        extra += [published(app, members[(r + k) % 1000],
                            hexes(flip(frames, rng.integers(4, 30, FRAMES), rng)), "again")
                  for k in (2, 3)]
        app.commit(*extra)
        named.append(source.id)
        plain.append(made[requests + r].id)
    return named, plain


async def measure(videos: int, requests: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(store="sqlite", data_dir=Path(tmp))
        container = bootstrap(settings)
        app = container.app
        started = time.perf_counter()
        named, plain = build(app, videos, requests, np.random.default_rng(5))
        built = time.perf_counter() - started
        read_side = ReadSide(settings, app)
        await read_side.start()
        runner = read_side.runner
        assert runner is not None and read_side.views is not None
        feed = read_side.views.generation_status
        app.published_frames.catch_up()  # type: ignore[union-attr]
        app.takedown_stats()  # the remix ledger, as a running server has it
        print(f"{videos:,} published videos written in {built:.0f}s")
        timings: dict[str, list[float]] = {"validation": [], "filing": [], "plain": [],
                                           "removed": []}

        async def gone(gid: UUID) -> None:
            while (await feed.get(gid)).state != "taken_down":  # type: ignore[union-attr]
                await asyncio.sleep(0.001)

        for i, gid in enumerate(named):
            t0 = time.perf_counter()
            filed = await asyncio.to_thread(
                app.file_takedown, PUBLIC, f"bench-{i}", gid, "id", "intimate_imagery",
                "depicted_person", "I am in this video and never agreed to it.",
                "Jane Roe", {"email": "jane@example.org"})
            request = app.get(TakedownRequest, request_id(filed["reference"]))
            await asyncio.to_thread(app.claim_case, REVIEWER, request.case_id)
            t1 = time.perf_counter()
            result = await asyncio.to_thread(app.decide_takedown, REVIEWER,
                                             filed["reference"], True, "NCII-1")
            runner.nudge()
            for removed in result["removed"]:
                await gone(UUID(removed))
            t2 = time.perf_counter()
            timings["validation"].append((t2 - t1) * 1000)
            timings["filing"].append((t2 - t0) * 1000)
            timings["removed"].append(len(result["removed"]))
        for gid in plain:
            case = await asyncio.to_thread(app.file_report, *report_args(app, gid))
            await asyncio.to_thread(app.claim_case, REVIEWER, UUID(case["case_id"]))
            t1 = time.perf_counter()
            await asyncio.to_thread(app.decide_case, REVIEWER, UUID(case["case_id"]),
                                    "remove", "SAFETY-1")
            runner.nudge()
            await gone(gid)
            timings["plain"].append((time.perf_counter() - t1) * 1000)
        await read_side.close()
        container.close()
        return timings


def report_args(app: Consentry, gid: UUID) -> tuple[Actor, UUID, str, str]:
    author = app.get(Generation, gid).requester_id
    reporter = Member.register(SYSTEM, f"reporter{gid.hex[:8]}")
    app.commit(reporter)
    assert reporter.id != author
    return Actor(str(reporter.id), Role.MEMBER), gid, "violence", ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    t = asyncio.run(measure(args.videos, args.requests))
    rows = [[name, percentile(t[name], 50), percentile(t[name], 99)]
            for name in ("validation", "filing", "plain")]
    print(table(["ms, to the last copy out of the feed", "p50", "p99"], rows))
    print(f"videos removed per request: {min(t['removed']):.0f}-{max(t['removed']):.0f}")
    ratio = percentile(t["validation"], 99) / percentile(t["plain"], 99)
    print(f"RESULT validation_p50_s={percentile(t['validation'], 50) / 1000:.3f} "
          f"validation_p99_s={percentile(t['validation'], 99) / 1000:.3f} "
          f"filing_p99_s={percentile(t['filing'], 99) / 1000:.3f} "
          f"plain_removal_p99_s={percentile(t['plain'], 99) / 1000:.3f} "
          f"vs_plain={ratio:.1f} videos={args.videos}")


if __name__ == "__main__":
    main()
