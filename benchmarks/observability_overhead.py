"""What operating Consentry costs: gate decisions per second (`POST /generations`, each an
allowed, durable decision) and feed requests per second (`GET /feed`), through the real app
in this process on the embedded store, with metrics (prometheus-client in multiprocess mode,
as `consentry serve` runs it), JSON logs (INFO, formatted and written) and tracing (every
span to the SDK's in-memory exporter) all on, beside all of them off (no request middleware,
no commit hook, no spans, no log lines), in alternating rounds of the same run on the same
data. One client, one request at a time. Goal: both ratios (on / off) at least 0.9.

    python -m benchmarks.observability_overhead [--members 2000] [--videos 20000]
                                                [--decisions 150] [--feed 1000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from benchmarks._common import percentile, table


class NullJobs:
    """The worker's queue, discarding: allowed generations are not rendered here."""

    async def enqueue(self, job: Any) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class LineCounter:
    """Where the JSON log lines go: counted (to prove they were written), then dropped."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False


async def timed(client: Any, calls: list[tuple[str, str, str, dict[str, Any]]], expect: int
                ) -> list[float]:
    """Milliseconds of each call, one after another."""
    latencies = []
    for method, path, token, body in calls:
        started = time.perf_counter()
        response = await client.request(method, path, json=body or None,
                                        headers={"Authorization": f"Bearer {token}"})
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == expect, (response.status_code, response.text[:300])
    return latencies


async def run(args: argparse.Namespace, data: Path) -> dict[str, dict[str, list[float]]]:
    import httpx
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from adapters import metrics
    from adapters.bootstrap import bootstrap
    from adapters.logging_setup import configure_logging
    from adapters.observability import on_commit
    from adapters.settings import Settings
    from adapters.tracing import configure_tracing, disable_tracing
    from api.app import close_state, create_app, open_state
    from api.ratelimit import RateLimits
    from benchmarks.feed import build
    from domain.actors import Actor, Role
    from tests.fakes import World

    started = time.perf_counter()
    tokens, events = build(data, args.members, args.videos, args.follows, args.likes,
                           random.Random(7))
    # the keyword prompt models: the cheapest gate, so the overhead shows the most
    container = bootstrap(Settings(store="sqlite", data_dir=data, prompt_models="keywords"))
    app = container.app
    world = World(app)
    deciders = tokens[:args.deciders]
    for token in deciders:  # verified, and the pro tier's 100 generations a day
        member = UUID(token.split(".")[1])
        world.verify(Actor(str(member), Role.MEMBER))
        app.change_tier(world.admin, member, "pro")
    print(f"{args.members:,} members, {args.videos:,} published videos, {events:,} events "
          f"(built in {time.perf_counter() - started:.0f} s); {len(deciders)} members decide")

    observed = create_app(container)
    bare = create_app(container, observability=False)
    await open_state(observed, container, jobs=NullJobs())  # type: ignore[arg-type]
    observed.state["rate_limits"] = RateLimits(rules={"generation": "1000000/minute"})
    bare.state = observed.state  # one read side, one queue: only the observability differs
    exporter, log_lines = InMemorySpanExporter(), LineCounter()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the client's own lines
    spans = 0

    def switch(on: bool) -> None:
        if on:
            configure_logging("INFO", "json", log_lines)  # type: ignore[arg-type]
            logging.getLogger("httpx").setLevel(logging.WARNING)
            configure_tracing("consentry-bench", exporter)
            app.on_commit = on_commit
        else:
            logging.getLogger().setLevel(logging.WARNING)
            disable_tracing()
            app.on_commit = None

    n = 0

    def gate_calls(count: int) -> list[tuple[str, str, str, dict[str, Any]]]:
        nonlocal n
        n += count
        return [("POST", "/generations", deciders[i % len(deciders)],
                 {"prompt": f"a quiet walk in the park, take {i}", "seconds": 3})
                for i in range(n - count, n)]

    def feed_calls(count: int) -> list[tuple[str, str, str, dict[str, Any]]]:
        return [("GET", "/feed", tokens[random.randrange(len(tokens))], {})
                for _ in range(count)]

    results: dict[str, dict[str, list[float]]] = {
        mode: {"gate": [], "feed": []} for mode in ("on", "off")}

    def allowed() -> float:
        """Allowed decisions counted in the metrics (read as a scrape reads them)."""
        return sum(sample.value for family in metrics.registry().collect()
                   if family.name == "consentry_gate_decisions" for sample in family.samples
                   if sample.name.endswith("_total") and sample.labels["outcome"] == "allow")

    try:
        for round_ in range(args.rounds):
            for mode in (("on", "off") if round_ % 2 == 0 else ("off", "on")):
                switch(mode == "on")
                target = observed if mode == "on" else bare
                transport = httpx.ASGITransport(app=target)
                async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                             timeout=60) as client:
                    await timed(client, gate_calls(args.warmup), 201)
                    await timed(client, feed_calls(args.warmup), 200)
                    before = allowed()
                    results[mode]["gate"] += await timed(client, gate_calls(args.decisions),
                                                         201)
                    results[mode]["feed"] += await timed(client, feed_calls(args.feed), 200)
                    counted = allowed() - before
                if mode == "on":
                    assert counted == args.decisions, counted  # metrics really were on
                    spans += len(exporter.get_finished_spans())
                    exporter.clear()
                else:
                    assert counted == 0, counted
    finally:
        switch(False)
        await close_state(observed)
        container.close()
    assert spans > 0 and log_lines.lines > 0, (spans, log_lines.lines)
    print(f"with observability on: {spans:,} spans exported, {log_lines.lines:,} log lines")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--videos", type=int, default=20_000)
    parser.add_argument("--follows", type=int, default=30)
    parser.add_argument("--likes", type=int, default=20_000)
    parser.add_argument("--deciders", type=int, default=100)
    parser.add_argument("--decisions", type=int, default=150, help="per mode and round")
    parser.add_argument("--feed", type=int, default=1000, help="per mode and round")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    quota = 100 * args.deciders
    needed = args.rounds * 2 * (args.decisions + args.warmup)
    if needed > quota:
        parser.error(f"{needed} decisions exceed the deciders' daily quota ({quota})")

    # Before anything imports prometheus_client: the multiprocess mode production runs in.
    from adapters.metrics_dir import prepare_multiprocess_dir, remove_own_dir

    metrics_dir = prepare_multiprocess_dir("bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = asyncio.run(run(args, Path(tmp)))
    finally:
        remove_own_dir(metrics_dir)

    def rate(samples: list[float]) -> float:
        return 1000 * len(samples) / sum(samples)

    rows = []
    for what, unit in (("gate", "POST /generations (allowed)"), ("feed", "GET /feed")):
        off = rate(results["off"][what])
        for mode in ("off", "on"):
            samples = results[mode][what]
            rows.append((f"{unit}, observability {mode}", len(samples), rate(samples),
                         percentile(samples, 50), percentile(samples, 99),
                         rate(samples) / off))
    print(table(["what", "requests", "per s", "p50 ms", "p99 ms", "vs off"], rows))
    gate = rate(results["on"]["gate"]) / rate(results["off"]["gate"])
    feed = rate(results["on"]["feed"]) / rate(results["off"]["feed"])
    print(f"RESULT gate_ratio={gate:.3f} feed_ratio={feed:.3f} "
          f"gate_per_s_on={rate(results['on']['gate']):.0f} "
          f"gate_per_s_off={rate(results['off']['gate']):.0f} "
          f"feed_per_s_on={rate(results['on']['feed']):.0f} "
          f"feed_per_s_off={rate(results['off']['feed']):.0f}")


if __name__ == "__main__":
    main()
