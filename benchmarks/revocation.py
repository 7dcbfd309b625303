"""Revocation → takedown latency: from a cameo being disabled, a grant being revoked, or a
cameo owner blocking someone who remixed her videos (remix chains 3 deep) to the last
dependent video leaving the read models that serve the feed, with 100,000 published videos
(10% of them remixes), on the embedded store and on PostgreSQL.

    python -m benchmarks.revocation [--videos 100000] [--runs 20] [--per-target 40]
                                    [--skip-postgres]

Each run revokes a fresh target (a cameo owner featured in `per-target` videos by other
people; a work used in `per-target` videos; or a remixer whom the owner blocks, whose remixes
start chains 3 deep) and times, in the same process: the command, the process's re-check and
takedown (remixes of what fell included), and the read models applying it.
The baseline row is the revocation command alone (a durable write, no takedown)."""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from dataclasses import dataclass
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
WHAT = {"cameo": "cameo disabled", "grant": "grant revoked",
        "block": "remixer blocked (remix chain)"}


@dataclass
class Targets:
    cameos: list[Actor]  # owners who disable their cameo
    grants: list[tuple[Actor, UUID]]  # (holder, grant) revoked
    blocks: list[tuple[Actor, UUID]]  # (owner, remixer) the owner blocks


def build(app: Consentry, videos: int, runs: int, per_target: int, rng: random.Random,
          remix_share: float = 0.1, max_depth: int = 3) -> Targets:
    """Members, cameos, works with grants and `videos` published generations, written in
    large transactions; `remix_share` of them are remixes (of remixes, up to `max_depth`),
    each with the featured set the gate gives a remix (its source's, inherited)."""
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
        grant = Grant.issue(SYSTEM, work.id, holder.id, GrantTerms(uses=("generate", "remix")))
        work.link_grant(SYSTEM, grant.id)
        works.append(work)
        grants.append(grant)
    commit_all(app, [*members, *extra, holder, *works, *grants])

    cameo_targets, block_owners = owners[:runs], owners[runs:2 * runs]
    others = owners[2 * runs:]
    requesters = members[len(owners):]
    remixers = requesters[:runs]  # one per block target, each remixing that owner's videos
    plan: list[tuple[tuple[UUID, ...], tuple[UUID, ...]]] = []
    for target in cameo_targets:
        plan += [((target.id,), ())] * per_target
    for work in works[:runs]:
        plan += [((), (work.id,))] * per_target
    for owner in block_owners:
        plan += [((owner.id,), ())] * (per_target // 4)
    while len(plan) < videos * (1 - remix_share):
        plan.append((tuple(o.id for o in rng.sample(others, rng.randint(0, 2))), ()))
    batch: list[Generation] = []
    made: list[Generation] = []
    depth: dict[UUID, int] = {}

    def add(g: Generation, level: int) -> None:
        g.record_render(WORKER, "a" * 64, 120, 5.0, "w", 1)
        g.record_scan(WORKER, {})
        g.record_watermark(WORKER, f"{len(made):012x}", "m" * 64, "p" * 64)
        g.publish(WORKER)
        batch.append(g)
        made.append(g)
        depth[g.id] = level

    def remix(requester: Member, source: Generation) -> Generation:
        me = Actor(str(requester.id), Role.MEMBER)
        g = Generation.request(me, requester.id, "the same, at night", (), 5, {}, source.id)
        g.decide(me, "allow", (), (), (), {}, featured_member_ids=source.featured_member_ids,
                 featured_work_ids=source.featured_work_ids)
        add(g, depth[source.id] + 1)
        return g

    for i, (cameos, work_ids) in enumerate(plan):
        requester = requesters[runs + i % (len(requesters) - runs)]
        me = Actor(str(requester.id), Role.MEMBER)
        g = Generation.request(me, requester.id, "a day at the beach", cameos, 5, {})
        g.decide(me, "allow", (), (), work_ids, {})
        add(g, 0)
        if cameos and cameos[0] in {o.id for o in block_owners}:
            # a chain down to max_depth from the owner's video, started by their remixer
            remixer = remixers[[o.id for o in block_owners].index(cameos[0])]
            source = remix(remixer, g)
            while depth[source.id] < max_depth:
                source = remix(rng.choice(requesters[runs:]), source)
        if len(batch) >= 2000:
            commit_all(app, batch)
            batch = []
    while len(made) < videos:  # the rest of the remixes, on random earlier videos
        source = rng.choice(made)
        if depth[source.id] < max_depth:
            remix(rng.choice(requesters[runs:]), source)
        if len(batch) >= 2000:
            commit_all(app, batch)
            batch = []
    commit_all(app, batch)
    return Targets([Actor(str(t.id), Role.MEMBER) for t in cameo_targets],
                   [(Actor(str(holder.id), Role.RIGHTS_HOLDER), g.id)
                    for g in grants[:runs]],
                   [(Actor(str(o.id), Role.MEMBER), r.id)
                    for o, r in zip(block_owners, remixers, strict=True)])


def commit_all(app: Consentry, aggregates: list) -> None:  # type: ignore[type-arg]
    for i in range(0, len(aggregates), 2000):
        app.commit(*aggregates[i:i + 2000])


async def measure(settings: Settings, args: argparse.Namespace) -> dict[str, list[float]]:
    container = bootstrap(settings)
    app = container.app
    started = time.perf_counter()
    targets = build(app, args.videos, args.runs, args.per_target, random.Random(3))
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
    timings: dict[str, list[float]] = {"cameo": [], "grant": [], "block": [],
                                       "command": []}

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

    def block(owner: Actor, remixer: UUID) -> int:
        app.block_person(owner, remixer)
        return app.last_position()

    for actor in targets.cameos:
        await revoke("cameo", lambda a=actor: disable(a))
    for holder, grant_id in targets.grants:
        await revoke("grant", lambda h=holder, g=grant_id: revoke_grant(h, g))
    for owner, remixer in targets.blocks:
        await revoke("block", lambda o=owner, r=remixer: block(o, r))
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
        for kind in ("cameo", "grant", "block"):
            samples = timings[kind]
            rows.append((store, f"{WHAT[kind]} → last video off the feed", len(samples),
                         percentile(samples, 50), percentile(samples, 99),
                         percentile(samples, 50) / base))
        rows.append((store, "baseline: the revocation command alone", len(timings["command"]),
                     base, percentile(timings["command"], 99), 1.0))
    print(f"{args.videos:,} published videos, 10% of them remixes (up to 3 deep); each "
          f"cameo or grant target has {args.per_target} dependent videos, each blocked "
          f"remixer {args.per_target // 4} chains of 3 remixes")
    print(table(["store", "what", "runs", "p50 ms", "p99 ms", "p50 vs command"], rows))
    worst = max(results.values(),
                key=lambda t: percentile(t["cameo"] + t["grant"] + t["block"], 99))
    every = worst["cameo"] + worst["grant"] + worst["block"]
    print(f"RESULT p50_ms={percentile(every, 50):.1f} p99_ms={percentile(every, 99):.1f}"
          f" p99_ms_block={percentile(worst['block'], 99):.1f}")


if __name__ == "__main__":
    main()
