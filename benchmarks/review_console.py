"""The review console's pages beside the JSON endpoints for the same data: the queue page
(/console/queues/<name>: the queue's count and oldest, its first 50 cases) against
GET /review/cases?queue=<name>, and the case page (/console/cases/<id>: the case, its
decision trace, findings, 50 evidence frames with their filters, notes and history) against
GET /review/cases/<id> plus GET /review/cases/<id>/evidence. The real app (embedded store by
default) with 10,000 open cases of 50 frames each, called in-process through ASGI (routing,
authentication, reads, rendering; no network), one request at a time.

    python -m benchmarks.review_console [--cases 10000] [--frames 50] [--requests 400]
                                        [--store sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from benchmarks._common import percentile, postgres_dsn, table

GOAL_P99_MS = 50.0
GOAL_RATIO = 0.5
SUBJECTS = 200  # real generations the cases are about (held ones, with a full trace)


def seed(container: Any, cases: int, frames: int, rng: random.Random) -> str:
    """Members, held generations and `cases` open safety cases written through the
    application's commands (cases in batches); returns a reviewer's key."""
    from domain.actors import Actor, Role
    from tests.fakes import World

    app = container.app
    admin_key = app.create_first_admin("bench admin")["secret"]
    admin = app.authenticate(admin_key)
    reviewer_key = app.enrol_staff(admin, "bench reviewer", "reviewer")["secret"]
    worker = Actor("bench-worker", Role.WORKER)
    frame_digests = [container.blobs.put(rng.randbytes(2048), "image/jpeg")
                     for _ in range(frames)]
    evidence = {"frames": frame_digests, "safety": {"label": "violence", "score": 0.61}}
    world = World(app, admin=admin)
    subjects: list[tuple[UUID, UUID]] = []
    for n in range(SUBJECTS):
        actor = world.member(f"bench_member_{n}")
        made = app.request_generation(actor, f"a harbour at dusk number {n}", (), 5)
        gid = UUID(made["generation_id"])
        app.record_render(worker, gid, "a" * 64, 48, 2.0, "w1", 1)
        app.hold_generation(worker, gid, ("SAFETY",), evidence)
        subjects.append((gid, UUID(actor.id)))
    batch: list[Any] = []
    for n in range(cases - SUBJECTS):
        gid, owner = subjects[n % SUBJECTS]
        batch.append(app.open_case(worker, "generation", gid, owner, "SAFETY", evidence,
                                   rng.choice(("normal", "high", "low")), ("safety",)))
        if len(batch) == 500:
            app.commit(*batch)
            batch = []
    app.commit(*batch)
    return str(reviewer_key)


async def timed(call: Callable[[], Awaitable[httpx.Response]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = await call()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (response.status_code, response.text[:300])
    return samples


async def run(args: argparse.Namespace, data_dir: Path, dsn: str | None) -> dict[str, Any]:
    from adapters.bootstrap import bootstrap
    from adapters.settings import Settings
    from api.app import close_state, create_app, open_state
    from tests.fakes import HeldJobs  # the worker's jobs are only recorded here

    settings = Settings(store="postgres", pg_dsn=dsn, pg_schema=f"bench_{int(time.time())}",
                        data_dir=data_dir) if dsn else Settings(store="sqlite",
                                                                  data_dir=data_dir)
    if dsn:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{settings.pg_schema}"')
    container = bootstrap(settings)
    started = time.perf_counter()
    reviewer_key = seed(container, args.cases, args.frames, random.Random(7))
    seeded = time.perf_counter() - started
    app = create_app(container)
    await open_state(app, container, jobs=HeldJobs())
    runner = app.state["read_side"].runner
    await runner.wait_for(container.app.recorder.max_notification_id() or 0, timeout=600)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench") as client:
            return await measure(client, args, reviewer_key, seeded)
    finally:
        await close_state(app)
        container.close()


async def measure(client: httpx.AsyncClient, args: argparse.Namespace, key: str,
                  seeded: float) -> dict[str, Any]:
    bearer = {"Authorization": f"Bearer {key}"}
    page = await client.get("/console/sign-in")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    signed = await client.post("/console/sign-in", data={"csrf": token, "key": key})
    assert signed.status_code == 303, signed.text[:300]
    listed = (await client.get("/review/cases?queue=safety&limit=50", headers=bearer)).json()
    assert len(listed["items"]) == 50
    ids = [c["id"] for c in listed["items"]]
    rng = random.Random(11)

    def case_page() -> Awaitable[httpx.Response]:
        return client.get(f"/console/cases/{rng.choice(ids)}")

    async def case_json() -> httpx.Response:
        case_id = rng.choice(ids)
        first = await client.get(f"/review/cases/{case_id}", headers=bearer)
        assert first.status_code == 200
        return await client.get(f"/review/cases/{case_id}/evidence", headers=bearer)

    calls: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
        "queue page (HTML)": lambda: client.get("/console/queues/safety"),
        "queue (JSON)": lambda: client.get("/review/cases?queue=safety&limit=50",
                                           headers=bearer),
        "case page (HTML)": case_page,
        "case + evidence (JSON)": case_json,
    }
    sample = await client.get(f"/console/cases/{ids[0]}")
    assert sample.text.count("/evidence/frame:") == args.frames, "frames on the page"
    for call in calls.values():
        await timed(call, max(10, args.requests // 10))  # warm-up
    # Interleaved, one request of each kind in turn, so that the pages and their JSON
    # baselines see the same machine (a busy moment slows all of them alike).
    results: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(args.requests):
        for name, call in calls.items():
            results[name] += await timed(call, 1)
    rows = []
    rate = {name: 1000 / (sum(s) / len(s)) for name, s in results.items()}
    baseline = {"queue page (HTML)": "queue (JSON)",
                "case page (HTML)": "case + evidence (JSON)"}
    for name, samples in results.items():
        base = baseline.get(name)
        rows.append([name, percentile(samples, 50), percentile(samples, 99), rate[name],
                     rate[name] / rate[base] if base else 1.0])
    print(f"{args.cases} open cases, {args.frames} frames each (seeded in {seeded:.0f} s); "
          f"{args.requests} requests per row, one at a time, the rows interleaved")
    print(table(["request", "p50 ms", "p99 ms", "per second", "rate vs JSON"], rows))
    queue_ratio = rate["queue page (HTML)"] / rate["queue (JSON)"]
    case_ratio = rate["case page (HTML)"] / rate["case + evidence (JSON)"]
    out = {"queue_p99_ms": percentile(results["queue page (HTML)"], 99),
           "case_p99_ms": percentile(results["case page (HTML)"], 99),
           "ratio_vs_json": min(queue_ratio, case_ratio),
           "queue_ratio_vs_json": queue_ratio, "case_ratio_vs_json": case_ratio,
           "queue_pages_per_s": rate["queue page (HTML)"],
           "case_pages_per_s": rate["case page (HTML)"]}
    met = out["queue_p99_ms"] < GOAL_P99_MS and out["case_p99_ms"] < GOAL_P99_MS \
        and out["ratio_vs_json"] >= GOAL_RATIO
    print(f"goal: p99 under {GOAL_P99_MS:.0f} ms and at least {GOAL_RATIO} of the JSON rate: "
          f"{'met' if met else 'NOT met'}")
    return out


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="consentry-review-bench-") as folder:
        if args.store == "postgres":
            with postgres_dsn() as dsn:
                out = asyncio.run(run(args, Path(folder), dsn))
        else:
            out = asyncio.run(run(args, Path(folder), None))
    print("RESULT " + " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in {"store": args.store, **out}.items()))


if __name__ == "__main__":
    main()
