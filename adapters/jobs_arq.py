"""The production job queue: arq on Redis. The API enqueues; `consentry worker` processes
(any number, on any machine) run the jobs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.worker import Function, Retry, Worker, func

from adapters.job_policy import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_ATTEMPTS,
    JobLostError,
    retry_delay,
    timeout_for,
)
from adapters.observability import count_attempt
from domain.jobs import GiveUpHandler, Job, JobHandler

log = logging.getLogger(__name__)

QUEUE_NAME = "consentry:jobs"
# How long a queued job waits for a worker before arq drops it (its default is a day; a
# week covers a long outage, and the dispatcher queues pending work again at its start).
EXPIRES_EXTRA_MS = 7 * 86_400_000


def _serialize(data: Any) -> bytes:
    # JSON, not arq's default pickle: whoever can write to Redis must not run code here.
    return json.dumps(data, default=repr).encode()


def _deserialize(data: bytes) -> Any:
    return json.loads(data)


class ArqJobQueue:
    """Enqueues with the job's own id as arq's job id, so a second enqueue is refused while
    the first is queued or running. Results are not kept (`keep_result=0`): finished work can
    be queued again, which the dispatcher does when a reviewer releases a held generation."""

    def __init__(self, redis_url: str, *, queue_name: str = QUEUE_NAME) -> None:
        self.redis_url = redis_url
        self.queue_name = queue_name
        self._pool: ArqRedis | None = None
        self._sent: set[str] = set()  # ids enqueued here and perhaps not finished (join)

    async def start(self) -> None:
        if self._pool is None:
            self._pool = await create_pool(
                RedisSettings.from_dsn(self.redis_url), job_serializer=_serialize,
                job_deserializer=_deserialize, default_queue_name=self.queue_name,
                expires_extra_ms=EXPIRES_EXTRA_MS)

    async def enqueue(self, job: Job) -> bool:
        if self._pool is None:
            raise RuntimeError("the job queue is not started")
        queued = await self._pool.enqueue_job(job.kind, job.subject_id, job.round,
                                              dict(job.trace), _job_id=job.id)
        if queued is not None:
            self._sent.add(job.id)
        return queued is not None

    async def depth(self, sample: int = 1000) -> tuple[int, float]:
        """Jobs due in the queue that no worker is running (among the `sample` oldest), and
        the age in seconds of the oldest of them (arq scores jobs by when they are due)."""
        if self._pool is None:
            return 0, 0.0
        now_ms = time.time() * 1000
        due = await self._pool.zrangebyscore(self.queue_name, "-inf", now_ms, start=0,
                                             num=sample, withscores=True)
        if not due:
            return 0, 0.0
        async with self._pool.pipeline(transaction=False) as pipe:
            for job_id, _ in due:
                pipe.exists(in_progress_key_prefix + job_id.decode())
            running = await pipe.execute()
        waiting = [score for (_, score), busy in zip(due, running, strict=True) if not busy]
        return len(waiting), (now_ms - min(waiting)) / 1000 if waiting else 0.0

    async def join(self, poll: float = 0.05) -> None:
        """Returns once every job enqueued through this queue has finished (arq deletes a
        job's key when it finishes, for good or after giving up)."""
        while self._sent and self._pool is not None:
            for job_id in list(self._sent):
                if not await self._pool.exists(job_key_prefix + job_id):
                    self._sent.discard(job_id)
            if self._sent:
                await asyncio.sleep(poll)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None


def _function(kind: str, handler: JobHandler, give_up: GiveUpHandler | None, *,
              max_attempts: int, timeout: float, backoff: Sequence[float],
              give_up_timeout: float) -> Function:
    async def run(ctx: dict[str, Any], subject_id: str, round: int = 0,
                  trace: dict[str, str] | None = None) -> None:
        job = Job(kind, subject_id, round, tuple(sorted((trace or {}).items())))
        attempt = int(ctx["job_try"])
        loop, executor = asyncio.get_running_loop(), ctx["executor"]
        if attempt > max_attempts:
            # arq delivered the job again because the worker running its last attempt died.
            error: BaseException = JobLostError(f"the worker running attempt {attempt - 1} "
                                                "of the job was lost")
        else:
            try:
                await asyncio.wait_for(
                    loop.run_in_executor(executor, handler, job, attempt), timeout)
                count_attempt(kind, "done")
                return
            except Exception as failed:
                if attempt < max_attempts:
                    count_attempt(kind, "timed_out" if isinstance(failed, TimeoutError)
                                  else "retried")
                    delay = retry_delay(backoff, attempt)
                    log.warning("job %s attempt %d failed (%r); retrying in %.1fs",
                                job.id, attempt, failed, delay)
                    raise Retry(defer=delay) from failed
                error = failed
        log.error("job %s failed after %d attempts: %r", job.id, attempt, error)
        count_attempt(kind, "gave_up")
        if give_up is not None:
            await asyncio.wait_for(loop.run_in_executor(executor, give_up, job, error),
                                   give_up_timeout)

    run.__qualname__ = run.__name__ = f"run_{kind}"
    # arq's own timeout covers the attempt and the give-up after it; one more delivery than
    # attempts lets a job whose last worker died reach its give-up handler.
    return func(run, name=kind, timeout=timeout + give_up_timeout, keep_result=0,
                max_tries=max_attempts + 1)


def worker_settings(handlers: Mapping[str, JobHandler], give_up: GiveUpHandler | None,
                    redis_url: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                    timeouts: Mapping[str, float] | None = None,
                    backoff: Sequence[float] = DEFAULT_BACKOFF,
                    give_up_timeout: float = 60.0, max_jobs: int = 1,
                    queue_name: str = QUEUE_NAME, poll_delay: float = 0.5,
                    shutdown_timeout: float = 30.0) -> dict[str, Any]:
    """Keyword arguments for `arq.worker.Worker` (or `create_worker`): one arq function per
    job kind. Each attempt runs in a thread (handlers are synchronous, CPU-bound) under the
    kind's timeout; a failure is retried with backoff through `arq.Retry` while attempts
    remain, then handed to `give_up`. A worker that dies mid-job leaves its in-progress key
    to expire, after which any worker runs the job again (the next attempt)."""
    functions = [
        _function(kind, handler, give_up, max_attempts=max_attempts,
                  timeout=timeout_for(timeouts, kind), backoff=backoff,
                  give_up_timeout=give_up_timeout)
        for kind, handler in handlers.items()]

    async def on_startup(ctx: dict[str, Any]) -> None:
        # Twice the jobs: room for a timed-out attempt whose thread is still running.
        ctx["executor"] = ThreadPoolExecutor(2 * max_jobs, thread_name_prefix="jobs")

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        # Jobs cancelled by the shutdown run again on another worker; their threads still
        # use the application, which the caller closes next: give them a while to end.
        executor: ThreadPoolExecutor = ctx["executor"]
        executor.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.to_thread(executor.shutdown), shutdown_timeout)

    return {"functions": functions, "redis_settings": RedisSettings.from_dsn(redis_url),
            "queue_name": queue_name, "max_jobs": max_jobs, "keep_result": 0,
            "poll_delay": poll_delay, "expires_extra_ms": EXPIRES_EXTRA_MS,
            "job_serializer": _serialize, "job_deserializer": _deserialize,
            "on_startup": on_startup, "on_shutdown": on_shutdown}


def create_worker(settings: Mapping[str, Any], *, in_progress_grace: float = 10.0,
                  **overrides: Any) -> Worker:
    """An arq worker from `worker_settings(...)`. A running job holds an in-progress key for
    its kind's longest run plus `in_progress_grace` seconds (arq fixes the grace at 10 s);
    when its worker dies the key expires and another worker picks the job up, so a small
    grace re-delivers sooner (tests)."""
    worker = Worker(**{**settings, **overrides})
    longest = max(f.timeout_s or worker.job_timeout_s for f in worker.functions.values())
    worker.in_progress_timeout_s = longest + in_progress_grace
    return worker
