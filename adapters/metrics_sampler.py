"""Gauges sampled now and then (and just before a scrape): the log's head, how far read models
and in-memory indexes are behind it, the job queue, the review queue and pending webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from adapters import metrics
from domain.review_case import PRIORITIES
from domain.takedown import CATEGORIES

log = logging.getLogger(__name__)
_PRIORITY_NAMES = {number: name for name, number in PRIORITIES.items()}


def followers(container: Any) -> dict[str, Any]:
    """The process's LogFollowers by name (those its container built)."""
    found: dict[str, Any] = {"work_names": container.app.work_names}
    faces = getattr(getattr(container, "face_index", None), "follower", None)
    if faces is not None:
        found["faces"] = faces
    refresh = getattr(getattr(container, "work_scanner", None), "refresh", None)
    references = getattr(getattr(refresh, "__self__", None), "follower", None)
    if references is not None:
        found["references"] = references
    return found


def sample_log(container: Any, read_position: int | None = None) -> None:
    """Synchronous (it reads the log's head): run it in a thread."""
    head = int(container.app.recorder.max_notification_id() or 0)
    metrics.LOG_HEAD.set(head)
    if read_position is not None:
        metrics.READ_MODEL_LAG.labels("projections").set(max(0, head - read_position))
    for name, follower in followers(container).items():
        metrics.FOLLOWER_LAG.labels(name).set(max(0, head - follower.position))


async def sample_queue(jobs: Any, name: str) -> None:
    depth = getattr(jobs, "depth", None)
    if depth is None:
        return
    count, oldest = await depth()
    metrics.QUEUE_DEPTH.labels(name).set(count)
    metrics.QUEUE_OLDEST.labels(name).set(oldest)


def sample_takedown_margins(app: Any) -> None:
    """Seconds before the nearest deadline of the open takedown requests, per category
    (+Inf when none is open: nothing is due). Synchronous (it reads the log): run it in a
    thread."""
    margins = app.takedown_open_margins()
    for category in CATEGORIES:
        metrics.TAKEDOWN_OPEN_MARGIN.labels(category).set(margins.get(category, math.inf))


async def sample_review_queue(view: Any, cap: int = 10_000, page: int = 500) -> None:
    """Counts actionable cases by priority and state, paging through the queue in its own
    order (priority, then age), so the first case of each priority is its oldest. Past
    `cap` cases the counts stop growing (the gauges then say "at least")."""
    counts: dict[tuple[str, str], int] = {}
    oldest: dict[str, datetime] = {}
    cursor, seen = None, 0
    while seen < cap:
        rows, cursor = await view.list_cases(cursor=cursor, limit=page)
        for row in rows:
            priority = _PRIORITY_NAMES.get(row.priority, str(row.priority))
            counts[(priority, row.state)] = counts.get((priority, row.state), 0) + 1
            oldest.setdefault(priority, row.created_at)
        seen += len(rows)
        if cursor is None:
            break
    now = datetime.now(UTC)
    for priority in PRIORITIES:
        for state in ("open", "appealed"):
            metrics.REVIEW_CASES.labels(priority, state).set(counts.get((priority, state), 0))
        since = oldest.get(priority)
        metrics.REVIEW_OLDEST.labels(priority).set(
            max(0.0, (now - since).total_seconds()) if since is not None else 0.0)


class Sampler:
    """Runs `sample()` every `interval` seconds on the event loop until stopped."""

    def __init__(self, sample: Callable[[], Awaitable[None]], interval: float = 5.0) -> None:
        self.sample = sample
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="metrics-sampler")

    async def _run(self) -> None:
        while True:
            try:
                await self.sample()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("sampling gauges failed", exc_info=True)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def sample_in_thread(container: Any, interval: float = 5.0) -> threading.Event:
    """The worker process's sampler (its event loop belongs to arq): the log's head and its
    indexes' lag, on a daemon thread; set the returned event to stop it."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                sample_log(container)
            except Exception:
                log.warning("sampling gauges failed", exc_info=True)
            stop.wait(interval)

    threading.Thread(target=run, name="metrics-sampler", daemon=True).start()
    return stop
