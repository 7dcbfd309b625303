"""A worker killed mid-job (SIGKILL: no clean-up at all) leaves its job's in-progress key in
Redis; once the key expires another worker runs the job again, and it completes once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from arq.constants import in_progress_key_prefix, job_key_prefix
from redis.asyncio import Redis

from adapters.jobs_arq import ArqJobQueue
from domain.jobs import Job

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def start_worker(redis_url: str, queue_name: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.arq_worker_process", redis_url, queue_name,
         str(log)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def lines_when(log: Path, check, timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = log.read_text().splitlines() if log.exists() else []
        if check(lines) or time.monotonic() > deadline:
            return lines
        await asyncio.sleep(0.05)


async def test_a_job_whose_worker_was_killed_is_completed_once_by_another(
        redis_url: str, tmp_path: Path):
    queue_name, log = f"test-jobs-{uuid.uuid4().hex}", tmp_path / "runs.log"
    queue = ArqJobQueue(redis_url, queue_name=queue_name)
    await queue.start()
    job = Job("slow", str(uuid.uuid4()))
    first = start_worker(redis_url, queue_name, log)
    second = None
    try:
        assert await queue.enqueue(job)
        lines = await lines_when(log, lambda ls: len(ls) == 1)
        assert [line.split()[:3] for line in lines] == [["start", job.id, "1"]]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)

        second = start_worker(redis_url, queue_name, log)
        lines = await lines_when(log, lambda ls: any(x.startswith("done") for x in ls))
        await asyncio.wait_for(queue.join(), 10)
        # Nothing left that could run it a third time: no job, no in-progress key, nothing
        # in the queue.
        redis = Redis.from_url(redis_url)
        try:
            keys = [job_key_prefix + job.id, in_progress_key_prefix + job.id]
            assert await redis.exists(*keys) == 0
            assert await redis.zcard(queue_name) == 0
        finally:
            await redis.aclose()

        lines = log.read_text().splitlines()
        assert [line.split()[:3] for line in lines] == [
            ["start", job.id, "1"], ["start", job.id, "2"], ["done", job.id, "2"]]
        pids = [line.split()[3] for line in lines]
        assert pids[0] == str(first.pid) and pids[1] == pids[2] == str(second.pid)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
        await queue.close()
