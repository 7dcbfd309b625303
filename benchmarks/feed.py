"""GET /feed under load: the real app (embedded store, 100,000 published videos, 10,000
members who follow each other and like videos) served by uvicorn in its own process, beside a
bare Litestar app returning a page of the same size from the same schema, served the same
way; load comes from a third process (wrk if installed, else an asyncio client), over
loopback, with the bearer keys of many different members.

    python -m benchmarks.feed [--videos 100000] [--members 10000] [--seconds 10]
                              [--concurrency 32] [--follows 30] [--likes 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from api.schemas.feed import FeedPage
from benchmarks._common import ROOT, percentile, table

WRK_SCRIPT = """
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local path = os.getenv("BENCH_PATH")
local n = tonumber(os.getenv("BENCH_START")) % #tokens
function request()
  n = n % #tokens + 1
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. tokens[n]})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d"
    .. " non2xx=%d\\n", summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


# -- the store --------------------------------------------------------------------------
def build(data_dir: Path, members: int, videos: int, follows: int, likes: int,
          rng: random.Random) -> tuple[list[str], int]:
    """Writes the world straight through `app.commit` in large batches; returns the
    members' bearer keys and the number of events."""
    from adapters.bootstrap import bootstrap
    from adapters.settings import Settings
    from domain.actors import Actor, Role
    from domain.generation import Generation
    from domain.like import Like
    from domain.member import Member
    from domain.services.access import new_key

    container = bootstrap(Settings(store="sqlite", data_dir=data_dir))
    app = container.app
    ids = [uuid4() for _ in range(members)]
    actors = [Actor(str(i), Role.MEMBER) for i in ids]
    # Popularity is skewed: a few members are followed, featured and liked a lot.
    weights = [1.0 / (rank + 10) for rank in range(members)]
    tokens, batch = [], []
    for n, (member_id, actor) in enumerate(zip(ids, actors, strict=True)):
        member = Member.register(actor, f"member_{n}", member_id=member_id)
        tokens.append(new_key(member, actor, "bench"))
        for other in set(rng.choices(range(members), weights, k=follows)) - {n}:
            member.follow(actor, ids[other])
        batch.append(member)
        if len(batch) == 1000:
            app.commit(*batch)
            batch = []
    app.commit(*batch)
    now = datetime.now(UTC)
    worker = Actor("bench-worker", Role.WORKER)
    made: list[UUID] = []
    creators = rng.choices(range(members), weights, k=videos)
    for n, creator in enumerate(creators):
        cameos = tuple(ids[c] for c in set(rng.choices(range(members), weights,
                                                       k=rng.choice((1, 2))))
                       if c != creator) if rng.random() < 0.2 else ()
        g = Generation.request(actors[creator], ids[creator], f"scene {n}", cameos, 5)
        g.decide(actors[creator], "allow", (), (), (), {})
        g.record_render(worker, "a" * 64, 48, 2.0, "w", 1)
        g.record_scan(worker, {})
        g.record_watermark(worker, "00ff", "b" * 64, "c" * 64)
        g.trigger_event(Generation.Published, actor_id=worker.id, actor_role=str(worker.role),
                        timestamp=now - timedelta(seconds=rng.uniform(0, 14 * 86400)))
        made.append(g.id)
        batch.append(g)
        if len(batch) == 2000:
            app.commit(*batch)
            batch = []
    app.commit(*batch)
    liked = rng.choices(range(videos), [1.0 / (rank + 50) for rank in range(videos)],
                        k=likes)
    pairs = {(rng.randrange(members), video) for video in liked}
    for fan, video in pairs:
        like = Like.create(actors[fan], ids[fan], made[video])
        like.like(actors[fan])
        batch.append(like)
        if len(batch) == 5000:
            app.commit(*batch)
            batch = []
    app.commit(*batch)
    events = app.recorder.max_notification_id() or 0
    container.close()
    return tokens, events


# -- the servers ------------------------------------------------------------------------
def bare_app() -> Any:
    """One JSON endpoint returning a stored page of the feed's own schema (uvicorn factory:
    the page is re-encoded on every request, as the feed's is)."""
    import msgspec
    from litestar import Litestar, get

    page = msgspec.json.decode(Path(os.environ["BENCH_PAGE"]).read_bytes(), type=FeedPage)

    @get("/bare", sync_to_thread=False)
    async def bare() -> FeedPage:
        return page

    return Litestar([bare])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(target: str, port: int, env: dict[str, str], log: Path) -> Any:
    """uvicorn, one worker, the same settings for every target."""
    loop = "uvloop" if _importable("uvloop") else "asyncio"
    http = "httptools" if _importable("httptools") else "h11"
    command = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1", "--loop", loop, "--http", http,
               "--log-level", "warning", "--no-access-log"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path,
                  timeout: float = 900) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} not up after {timeout}s")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def fetch(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


# -- the load ---------------------------------------------------------------------------
def load(url: str, tokens_file: Path, seconds: float, concurrency: int, start: int = 0
         ) -> dict[str, float]:
    """Runs the load generator in its own process, using the keys in turn from the
    `start`th; returns rps, p50/p99 (ms), errors and the number of requests."""
    path = "/" + url.split("/", 3)[3]
    if shutil.which("wrk"):
        script = tokens_file.with_suffix(".lua")
        script.write_text(WRK_SCRIPT)
        done = subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s", "-s",
             str(script), url], capture_output=True, text=True, check=True,
            env={**os.environ, "BENCH_TOKENS": str(tokens_file), "BENCH_PATH": path,
                 "BENCH_START": str(start)},
            timeout=seconds + 60)
        line = next(x for x in done.stdout.splitlines() if x.startswith("WRK "))
        found = {k: float(v) for k, v in (p.split("=") for p in line.split()[1:])}
        return {"rps": found["requests"] / (found["duration_us"] / 1e6),
                "p50_ms": found["p50_us"] / 1000, "p99_ms": found["p99_us"] / 1000,
                "errors": found["errors"] + found["non2xx"], "requests": found["requests"]}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.feed", "--client", url, "--tokens",
         str(tokens_file), "--seconds", str(seconds), "--concurrency", str(concurrency),
         "--start", str(start)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return dict(json.loads(done.stdout.splitlines()[-1]))


async def _client(url: str, tokens: list[str], seconds: float, concurrency: int,
                  start: int = 0, max_requests: int = 5_000_000) -> dict[str, float]:
    """A small keep-alive HTTP/1.1 client (no dependency), bounded in time and count."""
    host, port_path = url.split("//", 1)[1].split(":", 1)
    port, path = port_path.split("/", 1)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    counter = iter(range(start, start + max_requests))

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.perf_counter() < deadline:
            n = next(counter, None)
            if n is None:
                break
            token = tokens[n % len(tokens)]
            writer.write(f"GET /{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer "
                         f"{token}\r\n\r\n".encode())
            t0 = time.perf_counter()
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n")
                          if h.lower().startswith(b"content-length"))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if not head.startswith(b"HTTP/1.1 2"):
                errors += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"rps": len(latencies) / elapsed, "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000, "errors": errors,
            "requests": len(latencies)}


def warm(url: str, tokens_file: Path, requests: int, concurrency: int,
         limit: float = 300) -> None:
    """Loads until `requests` were served: every member's key once, so that the measured
    runs see a server in its steady state (members in the aggregate cache, as they are
    once they have been active), not its first minutes."""
    served, started = 0, time.perf_counter()
    while served < requests and time.perf_counter() - started < limit:
        served += int(load(url, tokens_file, 5, concurrency, start=served)["requests"])


# -- the run ----------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--follows", type=int, default=30)
    parser.add_argument("--likes", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--client", help=argparse.SUPPRESS)  # the fallback load generator
    parser.add_argument("--tokens", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        tokens = Path(args.tokens).read_text().split()
        print(json.dumps(asyncio.run(_client(args.client, tokens, args.seconds,
                                             args.concurrency, args.start))))
        return
    with tempfile.TemporaryDirectory(prefix="feed-bench-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> None:
    started = time.perf_counter()
    tokens, events = build(tmp / "data", args.members, args.videos, args.follows,
                           args.likes, random.Random(11))
    built = time.perf_counter() - started
    tokens_file = tmp / "tokens.txt"
    tokens_file.write_text("\n".join(random.Random(5).sample(tokens, len(tokens))) + "\n")
    feed_port, bare_port = free_port(), free_port()
    feed_url = f"http://127.0.0.1:{feed_port}/feed?limit=20"
    bare_url = f"http://127.0.0.1:{bare_port}/bare"
    env = {"CONSENTRY_STORE": "sqlite", "CONSENTRY_DATA_DIR": str(tmp / "data")}
    with serve("api.app:create_app", feed_port, env, tmp / "feed.log") as feed_server:
        up = wait_until_up(f"http://127.0.0.1:{feed_port}/health", feed_server,
                           tmp / "feed.log")
        status, sample = fetch(feed_url, tokens[0])
        page = json.loads(sample)
        assert status == 200 and len(page["items"]) == 20, sample[:300]
        (tmp / "page.json").write_bytes(sample)
        with serve("benchmarks.feed:bare_app", bare_port, {"BENCH_PAGE": str(tmp / "page.json")},
                   tmp / "bare.log") as bare_server:
            wait_until_up(bare_url, bare_server, tmp / "bare.log")
            assert len(fetch(bare_url, tokens[0])[1]) == len(sample)
            warm(bare_url, tokens_file, 1, args.concurrency)
            warm(feed_url, tokens_file, len(tokens), args.concurrency)
            runs: dict[str, list[dict[str, float]]] = {"bare": [], "feed": []}
            for trial in range(args.trials):  # interleaved, so noise hits both alike
                start = trial * len(tokens) // args.trials
                runs["bare"].append(load(bare_url, tokens_file, args.seconds,
                                         args.concurrency, start))
                runs["feed"].append(load(feed_url, tokens_file, args.seconds,
                                         args.concurrency, start))
    bare, feed = (sorted(runs[k], key=lambda r: r["rps"])[len(runs[k]) // 2] for k in
                  ("bare", "feed"))
    assert feed["errors"] == 0 and bare["errors"] == 0, (feed, bare)
    ratio = feed["rps"] / bare["rps"]
    reasons = sorted({r for item in page["items"] for r in item["reasons"]})
    print(f"{args.videos:,} published videos, {args.members:,} members (~{args.follows} "
          f"follows each), {args.likes:,} likes: {events:,} events built in {built:.0f}s; "
          f"server rebuilt its read models in {up:.0f}s")
    print(f"load: {'wrk' if shutil.which('wrk') else 'asyncio client'}, {args.concurrency} "
          f"connections, {args.seconds:g}s x {args.trials} interleaved runs (median), "
          f"{len(tokens):,} different member keys, 20 items ({len(sample):,} bytes) per page; "
          f"cpus={os.cpu_count()}; sample reasons: {', '.join(reasons)}")
    print(table(["target", "requests/s", "p50 ms", "p99 ms", "vs bare"], [
        ("bare Litestar, same page, no auth", bare["rps"], bare["p50_ms"], bare["p99_ms"],
         1.0),
        ("GET /feed (auth + ranking)", feed["rps"], feed["p50_ms"], feed["p99_ms"], ratio),
    ]))
    print(f"RESULT rps={feed['rps']:.0f} p99_ms={feed['p99_ms']:.2f} "
          f"ratio_vs_bare={ratio:.3f}")


if __name__ == "__main__":
    main()
