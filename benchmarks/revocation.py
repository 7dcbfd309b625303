"""Revocation → takedown latency: from a cameo being disabled (and from a grant being
revoked) to the last dependent video leaving the read models that serve the feed, with
100,000 published videos, on the embedded store and on PostgreSQL.

    python -m benchmarks.revocation [--videos 100000] [--runs 20] [--per-target 40]
                                    [--skip-postgres]

Each run revokes a fresh target (a cameo owner featured in `per-target` videos by other
people, some of them remixed; or a work used in `per-target` videos) and times, in the same
process: the command, the process's re-check and takedown, and the read models applying it.
The baseline row is the revocation command alone (a durable write, no takedown)."""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path
from uuid import UUID

import psycopg

from adapters.bootstrap import bootstrap
from adapters.read_side import ReadSide
from adapters.settings import Settings
from benchmarks._common import percentile, postgres_dsn, table
from domain.actors import SYSTEM, Actor, Role
from domain.cameo import Cameo
from domain.generation import Generation
from domain.grant import Grant, GrantTerms
from domain.identity import Challenge, Identity
from domain.member import Member
from domain.rights_holder import RightsHolder
from domain.services import Consentry
from domain.work import Work

WORKER = Actor("bench-worker", Role.WORKER)


def build(app: Consentry, videos: int, runs: int, per_target: int, rng: random.Random
          ) -> tuple[list[Actor], list[tuple[Actor, UUID]]]:
    """Members, cameos, works with grants and `videos` published generations, written in
    large transactions. Returns the cameo targets and the (holder, grant) targets."""
    now = app.clock()
    members = [Member.register(SYSTEM, f"m{i}") for i in range(max(2000, videos // 20))]
    owners = members[: len(members) // 5]
    extra = []
    for owner in owners:
        me = Actor(str(owner.id), Role.MEMBER)
        identity = Identity.create(me, owner.id)
        identity.start_verification(me, Challenge(uuid.uuid4().hex, "123", ("left", "up"),
                                                  now.replace(year=now.year + 1)))
        identity.submit(me, identity.challenge.nonce, "d" * 64, now)  # type: ignore[union-attr]
        identity.verify(WORKER, b"\x00" * 32, "bench", 0.9, 0.9)
        cameo = Cameo.create(me, owner.id)
        cameo.enable(me, "everyone")
        extra += [identity, cameo]
    holder = RightsHolder.onboard(SYSTEM, "Studio", "proof")
    works, grants = [], []
    for i in range(runs * 2):
        work = Work.register(SYSTEM, holder.id, f"Character Number {i}", "character", ())
        grant = Grant.issue(SYSTEM, work.id, holder.id, GrantTerms())
        work.link_grant(SYSTEM, grant.id)
        works.append(work)
        grants.append(grant)
    commit_all(app, [*members, *extra, holder, *works, *grants])

    cameo_targets = owners[:runs]
    work_targets = works[:runs]
    plan: list[tuple[tuple[UUID, ...], tuple[UUID, ...]]] = []
    for target in cameo_targets:
        plan += [((target.id,), ())] * per_target
    for work in work_targets:
        plan += [((), (work.id,))] * per_target
    others = owners[runs:]
    while len(plan) < videos:
        plan.append((tuple(o.id for o in rng.sample(others, rng.randint(0, 2))), ()))
    batch: list[Generation] = []
    sources: list[Generation] = []
    for i, (cameos, work_ids) in enumerate(plan):
        requester = members[len(owners) + i % (len(members) - len(owners))]
        remix_of = None
        if cameos and cameos[0] in {t.id for t in cameo_targets} and sources \
                and sources[-1].cameo_owner_ids == cameos and i % 4 == 0:
            remix_of = sources[-1].id  # some of a target's videos are remixes
        me = Actor(str(requester.id), Role.MEMBER)
        g = Generation.request(me, requester.id, "a day at the beach", cameos, 5, {},
                               remix_of)
        g.decide(me, "allow", (), (), work_ids, {})
        g.record_render(WORKER, "a" * 64, 120, 5.0, "w", 1)
        g.record_scan(WORKER, {})
        g.record_watermark(WORKER, f"{i:012x}", "m" * 64, "p" * 64)
        g.publish(WORKER)
        batch.append(g)
        if cameos:
            sources.append(g)
        if len(batch) == 2000:
            commit_all(app, batch)
            batch = []
    commit_all(app, batch)
    return ([Actor(str(t.id), Role.MEMBER) for t in cameo_targets],
            [(Actor(str(holder.id), Role.RIGHTS_HOLDER), g.id) for g in grants[:runs]])


def commit_all(app: Consentry, aggregates: list) -> None:  # type: ignore[type-arg]
    for i in range(0, len(aggregates), 2000):
        app.commit(*aggregates[i:i + 2000])


async def measure(settings: Settings, args: argparse.Namespace) -> dict[str, list[float]]:
    container = bootstrap(settings)
    app = container.app
    started = time.perf_counter()
    cameo_targets, grant_targets = build(app, args.videos, args.runs, args.per_target,
                                         random.Random(3))
    events = app.recorder.max_notification_id()
    built = time.perf_counter() - started
    read_side = ReadSide(settings, app)
    started = time.perf_counter()
    await read_side.start()
    caught_up = time.perf_counter() - started
    print(f"[{settings.store}] {events:,} events written in {built:.0f}s; read models and the "
          f"revocation index caught up in {caught_up:.0f}s")
    runner, process = read_side.runner, read_side.revocation
    assert runner is not None and process is not None
    timings: dict[str, list[float]] = {"cameo": [], "grant": [], "command": []}

    async def revoke(kind: str, call: object) -> None:
        t0 = time.perf_counter()
        position = await asyncio.to_thread(call)  # type: ignore[arg-type]
        timings["command"].append((time.perf_counter() - t0) * 1000)
        runner.nudge()
        while position not in process.takedowns or runner.position < process.takedowns[
                position]:
            await asyncio.sleep(0.001)
        timings[kind].append((time.perf_counter() - t0) * 1000)

    def disable(actor: Actor) -> int:
        app.disable_cameo(actor)
        return app.last_position()

    def revoke_grant(holder: Actor, grant_id: UUID) -> int:
        app.revoke_grant(holder, grant_id, "benchmark")
        return app.last_position()

    for actor in cameo_targets:
        await revoke("cameo", lambda a=actor: disable(a))
    for holder, grant_id in grant_targets:
        await revoke("grant", lambda h=holder, g=grant_id: revoke_grant(h, g))
    await read_side.close()
    container.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--per-target", type=int, default=40)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = asyncio.run(measure(Settings(store="sqlite", data_dir=Path(tmp)),
                                                args))
    if not args.skip_postgres:
        with postgres_dsn() as dsn:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            try:
                results["postgres"] = asyncio.run(measure(
                    Settings(store="postgres", pg_dsn=dsn, pg_schema=schema), args))
            finally:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE")
    rows = []
    for store, timings in results.items():
        base = percentile(timings["command"], 50)
        for kind in ("cameo", "grant"):
            samples = timings[kind]
            rows.append((store, f"{kind} revoked → last video off the feed", len(samples),
                         percentile(samples, 50), percentile(samples, 99),
                         percentile(samples, 50) / base))
        rows.append((store, "baseline: the revocation command alone", len(timings["command"]),
                     base, percentile(timings["command"], 99), 1.0))
    print(f"{args.videos:,} published videos; each target has {args.per_target} dependent "
          "videos (some remixed)")
    print(table(["store", "what", "runs", "p50 ms", "p99 ms", "p50 vs command"], rows))
    worst = max(results.values(), key=lambda t: percentile(t["cameo"] + t["grant"], 99))
    both = worst["cameo"] + worst["grant"]
    print(f"RESULT p50_ms={percentile(both, 50):.1f} p99_ms={percentile(both, 99):.1f}")


if __name__ == "__main__":
    main()
