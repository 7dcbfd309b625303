"""The embedded job queue: an asyncio queue and worker tasks in the API's own process, each
attempt run on the queue's own threads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from adapters.job_policy import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_ATTEMPTS,
    retry_delay,
    timeout_for,
)
from adapters.observability import count_attempt
from domain.jobs import GiveUpHandler, Job, JobHandler

log = logging.getLogger(__name__)


class InProcessJobQueue:
    """The embedded default. Handlers are synchronous and CPU-bound, so each attempt runs on
    the queue's own thread pool: the event loop keeps serving requests, and the default
    executor (where the API runs its commands) is never filled with renders.

    A job id is accepted once while it is queued, waiting for a retry or running. A failed
    attempt (an exception, or running past the kind's timeout) is retried after a backoff;
    after the last one `give_up` is called. A timed-out attempt's thread cannot be stopped
    and may still finish later, even while the next attempt runs: handlers are idempotent
    (completed steps are recorded as events), so whichever comes second finds the work done.
    Jobs still queued when the process stops are lost here; the dispatcher queues pending
    work again at the next start."""

    def __init__(self, handlers: Mapping[str, JobHandler], *,
                 give_up: GiveUpHandler | None = None, concurrency: int = 1,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                 backoff: Sequence[float] = DEFAULT_BACKOFF,
                 timeouts: Mapping[str, float] | None = None,
                 close_timeout: float = 30.0) -> None:
        if concurrency < 1 or max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")
        self.handlers = dict(handlers)
        self.give_up = give_up
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff = tuple(backoff)
        self.timeouts = dict(timeouts or {})
        self.close_timeout = close_timeout
        self._queue: asyncio.Queue[tuple[Job, int] | None] = asyncio.Queue()
        self._active: set[str] = set()  # ids queued, waiting for a retry, or running
        self._idle = asyncio.Event()
        self._idle.set()
        self._workers: list[asyncio.Task[None]] = []
        self._retries: set[asyncio.Task[None]] = set()
        self._waiting: dict[str, float] = {}  # job id -> when it was queued (monotonic)
        self._closed = False
        # Twice the workers: room for a timed-out attempt whose thread is still running.
        self._executor = ThreadPoolExecutor(2 * concurrency, thread_name_prefix="jobs")

    async def enqueue(self, job: Job) -> bool:
        if self._closed:
            raise RuntimeError("the job queue is closed")
        if job.kind not in self.handlers:
            raise ValueError(f"no handler for job kind {job.kind!r}")
        if job.id in self._active:
            return False
        self._active.add(job.id)
        self._idle.clear()
        self._waiting[job.id] = time.monotonic()
        self._queue.put_nowait((job, 1))
        return True

    async def depth(self) -> tuple[int, float]:
        """Jobs waiting for a worker (not running, not waiting for a retry's backoff) and
        the age in seconds of the oldest."""
        now = time.monotonic()
        return len(self._waiting), max((now - t for t in self._waiting.values()), default=0.0)

    async def start(self) -> None:
        if not self._workers and not self._closed:
            self._workers = [asyncio.create_task(self._work(), name=f"jobs-{n}")
                             for n in range(self.concurrency)]

    async def join(self) -> None:
        """Returns once nothing is queued, waiting for a retry or running (tests, and
        read-your-writes in end-to-end tests)."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stops accepting jobs, drops the queued ones and waits (at most `close_timeout`)
        for the attempts under way."""
        if self._closed:
            return
        self._closed = True
        for task in self._retries:
            task.cancel()
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                self._done(item[0])
        for _ in self._workers:
            self._queue.put_nowait(None)  # each worker stops after its current attempt
        if self._workers:
            _, late = await asyncio.wait(self._workers, timeout=self.close_timeout)
            for task in late:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._active.clear()
        self._idle.set()

    async def _work(self) -> None:
        while (item := await self._queue.get()) is not None:
            job, attempt = item
            self._waiting.pop(job.id, None)
            try:
                await self._attempt(job, attempt)
            except Exception:  # a give-up handler that failed; the job is done with
                log.exception("job %s: giving up failed", job.id)
                self._done(job)

    async def _attempt(self, job: Job, attempt: int) -> None:
        timeout = timeout_for(self.timeouts, job.kind)
        try:
            await self._in_thread(timeout, self.handlers[job.kind], job, attempt)
            count_attempt(job.kind, "done")
        except Exception as error:
            if attempt < self.max_attempts:
                if self._closed:  # queued again by the dispatcher at the next start
                    self._done(job)
                    return
                count_attempt(job.kind, "timed_out" if isinstance(error, TimeoutError)
                              else "retried")
                delay = retry_delay(self.backoff, attempt)
                log.warning("job %s attempt %d failed (%r); retrying in %.1fs",
                            job.id, attempt, error, delay)
                task = asyncio.create_task(self._retry(job, attempt + 1, delay))
                self._retries.add(task)
                task.add_done_callback(self._retries.discard)
                return
            log.error("job %s failed after %d attempts: %r", job.id, attempt, error)
            count_attempt(job.kind, "gave_up")
            if self.give_up is not None:
                await self._in_thread(timeout, self.give_up, job, error)
        self._done(job)

    async def _retry(self, job: Job, attempt: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._closed:
            self._done(job)
        else:
            self._waiting[job.id] = time.monotonic()
            self._queue.put_nowait((job, attempt))

    async def _in_thread(self, timeout: float, fn: Callable[..., None], *args: Any) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.run_in_executor(self._executor, fn, *args), timeout)

    def _done(self, job: Job) -> None:
        self._active.discard(job.id)
        self._waiting.pop(job.id, None)
        if not self._active:
            self._idle.set()
