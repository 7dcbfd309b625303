"""Feeds the application's event log to the read models: reads new notifications in bulk
(in a thread: the event store is synchronous), decodes them once, and hands each view the
batch. `wait_for(position)` gives read-your-writes after a command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from projections.base import Batch, View

log = logging.getLogger(__name__)
T = TypeVar("T")


class ProjectionRunner:
    """Polls every `interval` seconds, or at once when `nudge()`d by a command in this
    process. Views that fail keep their position and are retried on the next round.

    Blocking work (reading the store, and the commands processes issue) runs on the runner's
    own thread via `in_thread`, so that `stop()` can wait for it: a thread still reading
    when the store is closed would use a closed connection."""

    def __init__(self, app: Any, views: Sequence[View], interval: float = 0.2,
                 batch_size: int = 1000) -> None:
        self.app = app
        self.views = list(views)
        self.interval = interval
        self.batch_size = batch_size
        self.position = 0  # every view has applied the log up to here
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="projections")

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def start(self) -> None:
        self.position = min([await v.position() for v in self.views], default=0)
        self._task = asyncio.create_task(self._run(), name="projection-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # Cancelling the task does not stop a thread mid-call: wait for it to return.
        await asyncio.to_thread(self._executor.shutdown, True)

    def nudge(self) -> None:
        self._wake.set()

    async def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """True once every view has applied the log up to `position`."""
        if position <= self.position:
            return True
        self.nudge()
        async with self._progress:
            try:
                await asyncio.wait_for(
                    self._progress.wait_for(lambda: self.position >= position), timeout)
            except TimeoutError:
                return False
        return True

    async def catch_up(self, on_batch: Callable[[int, int], None] | None = None) -> int:
        """Applies everything in the log now; returns how many events were read."""
        total = 0
        while True:
            batch = await self.in_thread(self._read, self.position + 1)
            if not batch:
                return total
            for view in self.views:
                await view.apply(batch)
            total += len(batch)
            self.position = batch[-1][0]
            async with self._progress:
                self._progress.notify_all()
            if on_batch is not None:
                on_batch(self.position, len(batch))

    def _read(self, start: int) -> Batch:
        notes = self.app.recorder.select_notifications(start, self.batch_size)
        to_event = self.app.mapper.to_domain_event
        return [(n.id, to_event(n)) for n in notes]

    async def _run(self) -> None:
        while True:
            try:
                await self.catch_up()
                for view in self.views:
                    tick = getattr(view, "tick", None)
                    if tick is not None:
                        await tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("a read model failed to apply events; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
