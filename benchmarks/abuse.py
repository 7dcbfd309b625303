"""Hostile uploads against a real `consentry serve` (embedded store, its media intake's
sandboxes): `--attackers` clients post hostile and expensive videos to the public provenance
lookup for `--seconds`, each from its own forwarded address (as a botnet would: the server
trusts loopback as its proxy here, so per-address limits do not stop them), while one client
measures GET /feed and GET /health. The baseline is the same client with nobody attacking,
in the same run. Peak RSS is the server's process tree (sandboxes included), sampled.

    python -m benchmarks.abuse [--attackers 20] [--seconds 30] [--idle-seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import numpy as np

from benchmarks._common import ROOT, percentile, table


def seed(data_dir: Path, videos: int) -> str:
    """A member with a feed of published videos; returns their key."""
    from adapters.bootstrap import bootstrap
    from adapters.settings import Settings
    from tests.fakes import World

    container = bootstrap(Settings(store="sqlite", data_dir=data_dir))
    app, world = container.app, World(container.app)
    viewer = world.member("viewer")
    makers = [world.member(f"maker_{n}") for n in range(videos // 10 + 1)]  # daily quota
    for i in range(videos):
        made = app.request_generation(makers[i // 10], f"a lake at dawn, take {i}", (), 5)
        world.publish(UUID(made["generation_id"]))
    token = app.issue_key(viewer, UUID(viewer.id), "bench")["secret"]
    container.close()
    return str(token)


def payloads() -> list[tuple[str, bytes]]:
    """The hostile corpus, plus an expensive but valid upload: 60 s of 720p at 12 fps, a
    moving picture as a camera would give (a few megabytes, a lot of decoding)."""
    import av

    from tests.hostile_media import CORPUS

    ys, xs = np.mgrid[0:720, 0:1280]
    grain = np.random.default_rng(5).integers(0, 24, (720, 1280))
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"crf": "30", "preset": "ultrafast"}
        for t in range(720):
            luma = (((xs + 3 * t) // 40 + (ys + t) // 40) % 2 * 120 + 60 + grain)
            picture = np.repeat(luma.astype(np.uint8)[:, :, None], 3, axis=2)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        out.mux(stream.encode(None))
    heavy = buffer.getvalue()
    return [*((media_type, build()) for _, build, media_type, _ in CORPUS),
            ("video/mp4", heavy)]


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """RSS of a process, and of it with its children (the sandboxes), from /proc."""
    own = total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(entry.name) != pid and int(stat[1]) != pid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    if int(entry.name) == pid:
                        own = int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return own / 1024, total / 1024


async def measure(url: str, token: str, seconds: float, statuses: Counter[int]
                  ) -> tuple[list[float], list[float]]:
    feed, health = [], []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for path, samples, extra in (("/feed", feed, headers), ("/health", health, {})):
                t0 = time.perf_counter()
                response = await client.get(path, headers=extra)
                samples.append((time.perf_counter() - t0) * 1000)
                statuses[response.status_code] += 1
    return feed, health


async def attack(url: str, seconds: float, attackers: int,
                 files: list[tuple[str, bytes]], statuses: Counter[int]) -> int:
    sent = 0

    async def one(n: int) -> None:
        nonlocal sent
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            deadline, i = time.monotonic() + seconds, n
            while time.monotonic() < deadline:
                media_type, data = files[i % len(files)]
                response = await client.post("/provenance", content=data, headers={
                    "content-type": media_type, "X-Forwarded-For": f"198.51.{n}.{i % 250}"})
                statuses[response.status_code] += 1
                sent += 1
                i += 1

    await asyncio.gather(*(one(n) for n in range(attackers)))
    return sent


async def sample_rss(pid: int, stop: asyncio.Event) -> tuple[float, float]:
    peak_own = peak_tree = 0.0
    while not stop.is_set():
        own, tree = tree_rss_mb(pid)
        peak_own, peak_tree = max(peak_own, own), max(peak_tree, tree)
        await asyncio.sleep(0.1)
    return peak_own, peak_tree


async def run(args: argparse.Namespace, url: str, token: str, pid: int
              ) -> dict[str, Any]:
    files = payloads()
    idle_statuses: Counter[int] = Counter()
    idle_feed, idle_health = await measure(url, token, args.idle_seconds, idle_statuses)
    stop = asyncio.Event()
    rss = asyncio.create_task(sample_rss(pid, stop))
    statuses: Counter[int] = Counter()
    attack_statuses: Counter[int] = Counter()
    (feed, health), sent = await asyncio.gather(
        measure(url, token, args.seconds, statuses),
        attack(url, args.seconds, args.attackers, files, attack_statuses))
    stop.set()
    return {"idle_feed": idle_feed, "idle_health": idle_health, "feed": feed,
            "health": health, "sent": sent, "statuses": statuses + idle_statuses,
            "attack_statuses": attack_statuses, "peak_rss": await rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attackers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--videos", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        token = seed(data, args.videos)
        port = 20000 + os.getpid() % 20000
        env = {**os.environ, "CONSENTRY_DATA_DIR": str(data), "CONSENTRY_PORT": str(port),
               "CONSENTRY_TRUSTED_PROXIES": "127.0.0.1", "CONSENTRY_REDIS_URL": ""}
        server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], cwd=ROOT,
                                  env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            result = asyncio.run(run(args, url, token, server.pid))
        finally:
            server.terminate()
            server.wait(30)
    idle_p99, attack_p99 = percentile(result["idle_feed"], 99), percentile(result["feed"], 99)
    attack_statuses, statuses = result["attack_statuses"], result["statuses"]
    server_errors = sum(n for s, n in (statuses + attack_statuses).items()
                        if s >= 500 and s != 503)
    busy = attack_statuses.get(503, 0)
    print(f"{args.attackers} attackers for {args.seconds:g} s: {result['sent']} uploads, "
          f"answers {dict(sorted(attack_statuses.items()))}")
    rows = []
    for what, key, base in (("GET /feed", "feed", "idle_feed"),
                            ("GET /health", "health", "idle_health")):
        idle, hit = result[base], result[key]
        rows.append((f"{what}, idle", len(idle), percentile(idle, 50), percentile(idle, 99),
                     1.0))
        rows.append((f"{what}, under attack", len(hit), percentile(hit, 50),
                     percentile(hit, 99), percentile(hit, 99) / percentile(idle, 99)))
    print(table(["what", "requests", "p50 ms", "p99 ms", "p99 vs idle"], rows))
    server_peak, tree_peak = result["peak_rss"]
    print(f"peak RSS: the server process {server_peak:.0f} MB, with its sandboxes "
          f"{tree_peak:.0f} MB")
    print(f"RESULT peak_rss_mb={tree_peak:.0f} feed_p99_ms_under_attack={attack_p99:.1f}"
          f" feed_p99_ms_idle={idle_p99:.1f} errors_5xx={server_errors} busy_503={busy}"
          f" peak_rss_mb_server={server_peak:.0f}")


if __name__ == "__main__":
    main()
