"""Webhook deliveries under a steady load: events that each make one delivery (a member's
generation using a licensed work: `work.used`) committed at `--rate` per second through the
application's command on the embedded store, delivered by the real app's delivery process
(from the log, stored with its position, signed, sent) to a receiver in another process on
loopback that accepts at once. Measured: deliveries per second and the time from an event's
commit to the receiver having it. The baseline, in the same run: the same number of
payloads POSTed straight to the same receiver at the same rate by one httpx client (no log,
no store, no signature). Goal: p99 under 1 s at 200 events/s.

    python -m benchmarks.webhooks [--rate 200] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

from benchmarks._common import percentile, table


def receive(ports: Any) -> None:
    """The receiver process: records (message id, received at, the payload's timestamp) of
    each POST and answers 200; `GET /stats?prefix=` hands the records over."""
    records: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the senders use it
        disable_nagle_algorithm = True  # the answer's head and body leave at once

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            now = time.time()
            stamp = datetime.fromisoformat(json.loads(body)["timestamp"]).timestamp()
            with lock:
                records.append((self.headers["webhook-id"], now, stamp))
            self._answer(b"ok")

        def do_GET(self) -> None:
            prefix = self.path.partition("prefix=")[2]
            with lock:
                found = [r for r in records if r[0].startswith(prefix)]
            self._answer(json.dumps(found).encode())

        def _answer(self, data: bytes) -> None:
            self.send_response(200)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ports.put(server.server_address[1])
    server.serve_forever()


def received(port: int, prefix: str) -> list[tuple[str, float, float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats?prefix={prefix}") as answer:
        return [tuple(r) for r in json.loads(answer.read())]  # type: ignore[misc]


def wait_for(port: int, prefix: str, count: int, timeout: float
             ) -> list[tuple[str, float, float]]:
    deadline = time.monotonic() + timeout
    while True:
        found = received(port, prefix)
        if len({r[0] for r in found}) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)  # polling the receiver, with a deadline


async def paced(rate: float, count: int, start: Any) -> float:
    """Calls `start(i)` (which returns an awaitable) at `rate` per second, each in a task
    of its own; returns the rate achieved."""
    began = time.perf_counter()
    tasks = []
    for i in range(count):
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(start(i)))
    await asyncio.gather(*tasks)
    return count / (time.perf_counter() - began)


async def through_consentry(args: argparse.Namespace, port: int, data: Path
                            ) -> tuple[float, int]:
    """Returns the rate at which events were committed and how many."""
    from adapters.bootstrap import bootstrap
    from adapters.settings import Settings
    from api.app import close_state, create_app, open_state
    from benchmarks.observability_overhead import NullJobs
    from domain.actors import Actor
    from domain.errors import ConflictError
    from tests.fakes import World

    count = int(args.rate * args.seconds)
    container = bootstrap(Settings(store="sqlite", data_dir=data, webhooks_allow_private=True,
                                   prompt_models="keywords"))
    app = container.app
    world = World(app)
    holder = world.rights_holder()
    world.work(holder, "Zorblax", ("zorblax",), audience="everyone")
    members = []
    for _ in range(max(32, math.ceil(count / 90))):  # the pro tier: 100 a day each
        member = world.member()
        app.change_tier(world.admin, UUID(member.id), "pro")
        members.append(member)
    app.register_webhook_endpoint(holder, f"http://127.0.0.1:{port}/hooks", ("work.used",))
    served = create_app(container)
    read_side = await open_state(served, container, jobs=NullJobs())  # type: ignore[arg-type]
    runner = read_side.runner
    assert runner is not None

    # the commands' own threads, as the API's handlers have theirs (anyio's), apart from
    # the event loop's default pool the delivery process uses
    commands = ThreadPoolExecutor(8, thread_name_prefix="commands")
    loop = asyncio.get_running_loop()

    async def commit(i: int) -> None:
        actor: Actor = members[i % len(members)]
        for _ in range(5):  # as a client retries a conflict (409)
            try:
                made = await loop.run_in_executor(commands, app.request_generation, actor,
                                                  f"zorblax dances in the rain, take {i}",
                                                  (), 3)
                break
            except ConflictError:
                continue
        # keywords mode: with a registered work and no semantic matcher the prompt goes to
        # a person (fail closed); the decision names the work all the same (work.used)
        assert made["outcome"] == "review" and made["rule_codes"] == ["WORK-LICENSED"], made
        runner.nudge()  # as the API's commands do

    try:
        achieved = await paced(args.rate, count, commit)
        await asyncio.to_thread(wait_for, port, "msg_", count, args.drain)
    finally:
        commands.shutdown()
        await close_state(served)
        container.close()
    return achieved, count


async def bare(args: argparse.Namespace, port: int, count: int) -> float:
    import httpx

    async with httpx.AsyncClient(timeout=30) as client:
        async def post(i: int) -> None:
            body = json.dumps({"type": "work.used", "timestamp": datetime.now().astimezone()
                               .isoformat(), "data": {"n": i}})
            answer = await client.post(f"http://127.0.0.1:{port}/hooks", content=body,
                                       headers={"webhook-id": f"bare_{i}",
                                                "content-type": "application/json"})
            assert answer.status_code == 200

        achieved = await paced(args.rate, count, post)
    await asyncio.to_thread(wait_for, port, "bare_", count, args.drain)
    return achieved


def summary(records: list[tuple[str, float, float]]) -> tuple[int, float, list[float]]:
    """(deliveries, per second from the first commit to the last delivery, latencies ms)."""
    first = {}
    for message, at, stamp in records:  # a retried message counts once, when first had
        first.setdefault(message, (at, stamp))
    latencies = [(at - stamp) * 1000 for at, stamp in first.values()]
    span = max(at for at, _ in first.values()) - min(s for _, s in first.values())
    return len(first), len(first) / span, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--drain", type=float, default=60.0,
                        help="seconds to wait for the last deliveries")
    args = parser.parse_args()
    ports: Any = multiprocessing.get_context("spawn").Queue()
    receiver = multiprocessing.get_context("spawn").Process(target=receive, args=(ports,),
                                                            daemon=True)
    receiver.start()
    port = ports.get(timeout=30)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            achieved, count = asyncio.run(through_consentry(args, port, Path(tmp)))
        ours = received(port, "msg_")
        bare_rate = asyncio.run(bare(args, port, count))
        theirs = received(port, "bare_")
    finally:
        receiver.terminate()

    rows = []
    results = {}
    for name, records, offered in (("Consentry: commit -> log -> store -> signed POST", ours,
                                    achieved),
                                   ("bare httpx POST at the same rate", theirs, bare_rate)):
        delivered, per_s, latencies = summary(records)
        results[name] = (delivered, per_s, latencies)
        rows.append((name, offered, delivered, per_s, percentile(latencies, 50),
                     percentile(latencies, 99), max(latencies)))
    print(f"{count} events at {args.rate:g}/s offered ({achieved:.0f}/s committed)")
    print(table(["what", "offered/s", "delivered", "per s", "p50 ms", "p99 ms", "max ms"],
                rows))
    delivered, per_s, latencies = results[rows[0][0]]
    _, _, baseline = results[rows[1][0]]
    lost = count - delivered
    print(f"RESULT deliveries_per_s={per_s:.0f} p99_ms={percentile(latencies, 99):.1f} "
          f"p50_ms={percentile(latencies, 50):.1f} events_per_s={achieved:.0f} lost={lost} "
          f"p99_ms_bare={percentile(baseline, 99):.1f}")


if __name__ == "__main__":
    main()
