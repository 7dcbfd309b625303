"""One contract for both job queues: the in-process queue and arq on the real Redis (with a
worker running in the test's event loop). Handlers run in threads, so they record what
happened under a lock."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.jobs_arq import ArqJobQueue, create_worker, worker_settings
from adapters.jobs_inprocess import InProcessJobQueue
from domain.jobs import GiveUpHandler, Job, JobHandler, TransientJobError

WAIT = 10.0  # seconds any test waits at most for the queue to settle


@dataclass
class Record:
    calls: list[tuple[Job, int, float]] = field(default_factory=list)
    give_ups: list[tuple[Job, BaseException]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, job: Job, attempt: int) -> None:
        with self.lock:
            self.calls.append((job, attempt, time.monotonic()))

    def give_up(self, job: Job, error: BaseException) -> None:
        with self.lock:
            self.give_ups.append((job, error))

    def attempts(self, job: Job) -> list[int]:
        return [attempt for j, attempt, _ in self.calls if j == job]


class Queue:
    """The queue under test plus `join`, which both implementations offer."""

    def __init__(self, queue: InProcessJobQueue | ArqJobQueue) -> None:
        self.queue = queue

    async def enqueue(self, job: Job) -> bool:
        return await self.queue.enqueue(job)

    async def join(self) -> None:
        await asyncio.wait_for(self.queue.join(), WAIT)


Open = Callable[..., Awaitable[Queue]]


@pytest.fixture(params=[pytest.param("inprocess", marks=pytest.mark.unit),
                        pytest.param("arq", marks=pytest.mark.integration)])
async def open_queue(request: pytest.FixtureRequest) -> AsyncIterator[Open]:
    closers: list[Callable[[], Awaitable[None]]] = []

    async def open_(handlers: dict[str, JobHandler], give_up: GiveUpHandler | None = None,
                    **policy: Any) -> Queue:
        if request.param == "inprocess":
            queue = InProcessJobQueue(handlers, give_up=give_up, **policy)
            await queue.start()
            closers.append(queue.close)
            return Queue(queue)
        redis_url = request.getfixturevalue("redis_url")
        name = f"test-jobs-{uuid.uuid4().hex}"
        arq_queue = ArqJobQueue(redis_url, queue_name=name)
        await arq_queue.start()
        worker = create_worker(
            worker_settings(handlers, give_up, redis_url, queue_name=name, poll_delay=0.02,
                            give_up_timeout=2.0, **policy),
            handle_signals=False, in_progress_grace=1.0)
        task = asyncio.create_task(worker.async_run())

        async def close() -> None:
            await worker.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await arq_queue.close()

        closers.append(close)
        return Queue(arq_queue)

    yield open_
    for close in reversed(closers):
        await close()


def job(kind: str = "echo") -> Job:
    return Job(kind, str(uuid.uuid4()))


async def test_an_enqueued_job_runs_its_handler_once(open_queue: Open):
    record = Record()
    queue = await open_queue({"echo": record.call})
    first = job()

    assert await queue.enqueue(first) is True
    await queue.join()  # nothing queued, running or waiting for a retry

    assert record.attempts(first) == [1]
    assert record.give_ups == []


async def test_a_job_id_is_accepted_once_while_queued_or_running(open_queue: Open):
    record, started, release = Record(), threading.Event(), threading.Event()

    def blocking(j: Job, attempt: int) -> None:
        record.call(j, attempt)
        started.set()
        release.wait(WAIT)

    # Both queues run one job at a time by default, so the second waits behind the first.
    queue = await open_queue({"block": blocking, "echo": record.call})
    running, waiting = job("block"), job("echo")
    assert await queue.enqueue(running) is True
    assert await asyncio.to_thread(started.wait, WAIT)
    assert await queue.enqueue(running) is False  # running
    assert await queue.enqueue(waiting) is True
    assert await queue.enqueue(waiting) is False  # queued
    release.set()
    await queue.join()

    assert record.attempts(running) == [1]
    assert record.attempts(waiting) == [1]
    # Finished work can be queued again (no results are kept).
    assert await queue.enqueue(waiting) is True
    await queue.join()
    assert record.attempts(waiting) == [1, 1]


async def test_a_transient_failure_is_retried_after_the_backoff(open_queue: Open):
    record = Record()

    def flaky(j: Job, attempt: int) -> None:
        record.call(j, attempt)
        if attempt < 3:
            raise TransientJobError("the service is briefly away")

    queue = await open_queue({"flaky": flaky}, record.give_up, max_attempts=3,
                             backoff=(0.3, 0.6))
    flake = job("flaky")
    await queue.enqueue(flake)
    await queue.join()

    assert record.attempts(flake) == [1, 2, 3]
    times = [t for _, _, t in record.calls]
    assert times[1] - times[0] >= 0.3 * 0.95
    assert times[2] - times[1] >= 0.6 * 0.95  # exponential: the second wait is longer
    assert record.give_ups == []


async def test_after_the_last_attempt_give_up_is_called_exactly_once(open_queue: Open):
    record = Record()

    def broken(j: Job, attempt: int) -> None:
        record.call(j, attempt)
        raise ValueError(f"broken on attempt {attempt}")

    queue = await open_queue({"broken": broken}, record.give_up, max_attempts=3,
                             backoff=(0.05,))
    doomed = job("broken")
    await queue.enqueue(doomed)
    await queue.join()  # given up: nothing queued, running or waiting for a retry

    assert record.attempts(doomed) == [1, 2, 3]
    assert len(record.give_ups) == 1
    given_up, error = record.give_ups[0]
    assert given_up == doomed
    assert isinstance(error, ValueError)
    assert str(error) == "broken on attempt 3"


async def test_an_attempt_over_its_timeout_counts_as_failed(open_queue: Open):
    record = Record()

    def slow_once(j: Job, attempt: int) -> None:
        record.call(j, attempt)
        if attempt == 1:
            time.sleep(1.5)  # the thread finishes later; the handler is idempotent

    queue = await open_queue({"slow": slow_once}, record.give_up, max_attempts=2,
                             backoff=(0.05,), timeouts={"slow": 0.3})
    slow = job("slow")
    await queue.enqueue(slow)
    await queue.join()

    assert record.attempts(slow) == [1, 2]
    times = [t for _, _, t in record.calls]
    assert times[1] - times[0] < 1.2  # the second attempt did not wait for the first
    assert record.give_ups == []


async def test_a_job_that_always_times_out_is_given_up_with_the_timeout(open_queue: Open):
    record = Record()

    def hangs(j: Job, attempt: int) -> None:
        record.call(j, attempt)
        time.sleep(0.6)

    queue = await open_queue({"hang": hangs}, record.give_up, max_attempts=2,
                             backoff=(0.05,), timeouts={"hang": 0.2})
    hung = job("hang")
    await queue.enqueue(hung)
    await queue.join()

    assert record.attempts(hung) == [1, 2]
    assert [(j, type(e)) for j, e in record.give_ups] == [(hung, TimeoutError)]
