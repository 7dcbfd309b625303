"""Revocation → takedown: a tracked process on the event log. When a consent is withdrawn
(cameo disabled or narrowed, approval withdrawn, block added, mutual follow broken, grant
revoked, amended or expired, work withdrawn, identity erased), every generation that may
depend on it is re-checked against current consent: those that fail are taken down with the
cause, those that now need a person are held (out of the feed) with a review case; then
their remixes, until nothing more falls. It also expires grants whose end
date has passed. Its position is durable, so a restart rebuilds the index without acting on
old events again; acting twice would be harmless anyway (a take-down only applies to live
generations, and re-checks read current consent)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters import metrics
from adapters.positions import PositionStore
from domain.actors import SYSTEM
from domain.blobs import BlobStore
from domain.generation import Generation, State
from projections.base import Batch
from projections.dependencies import DependencyIndex, Trigger

log = logging.getLogger(__name__)


class RevocationProcess:
    """Runs in the projection runner like a view (`position`/`apply`)."""

    name = "revocation"

    def __init__(self, app: Any, positions: PositionStore, expiry_interval: float = 30.0,
                 blobs: BlobStore | None = None) -> None:
        self.app = app
        self.blobs = blobs  # given: the files of generations it deletes go too
        self.positions = positions
        self.index = DependencyIndex()
        self._seen = 0  # events indexed (in memory; rebuilt from the log at start)
        self._acted: int | None = None  # durable: events acted upon
        self.expiry_interval = expiry_interval
        self._next_expiry = 0.0
        # revocation event time → takedown committed (also the histogram in metrics.py)
        self.latencies_ms: list[float] = []
        # (revocation position, position of the last takedown it caused): a read model
        # that has applied the second has dropped every video the first revoked.
        self.takedowns: dict[int, int] = {}
        self._scanning: asyncio.Future[None] | None = None  # the retroactive scans' run
        # The runner replaces this with its own thread, which it waits for when stopping.
        self.run_in_thread: Callable[..., Awaitable[Any]] = asyncio.to_thread

    async def position(self) -> int:
        # The index lives in memory, so after a restart the log is read from the start;
        # the durable position only decides what is acted upon.
        return self._seen

    async def apply(self, batch: Batch) -> None:
        if self._acted is None:
            self._acted = await self.positions.get(self.name)
        triggers: list[Trigger] = []
        for position, event in batch:
            if position <= self._seen:
                continue
            trigger = self.index.apply(position, event)
            self._seen = position
            if trigger is not None and position > self._acted and trigger.candidates:
                triggers.append(trigger)
        for trigger in triggers:
            await self.run_in_thread(self._act, trigger)
        if batch and batch[-1][0] > self._acted:
            self._acted = batch[-1][0]
            await self.positions.set(self.name, self._acted)

    def _act(self, trigger: Trigger) -> None:
        cause = {"kind": trigger.kind, "aggregate_id": str(trigger.aggregate_id),
                 "position": str(trigger.position)}
        checked: set[UUID] = set()
        candidates = set(trigger.candidates)
        while candidates:
            checked |= candidates
            acted = self.app.enforce_consent(SYSTEM, sorted(candidates), cause)
            if not acted:
                break
            self._delete_files([g for g, state in acted.items() if state == State.DELETED])
            seconds = time.time() - trigger.at.timestamp()
            self.latencies_ms.append(seconds * 1000)
            metrics.REVOCATION_SECONDS.observe(seconds)
            self.takedowns[trigger.position] = self.app.last_position()
            # Remixes of what fell or was held are checked next (their source is no longer
            # published); the featured sets already reached those that inherit the cause.
            candidates = self.index.remixes_of(set(acted)) - checked

    def _delete_files(self, generation_ids: list[UUID]) -> None:
        if self.blobs is None:
            return
        for generation_id in generation_ids:
            for digest in self.app.get(Generation, generation_id).files:
                self.blobs.delete(digest)

    async def tick(self) -> None:
        """Called by the runner between rounds: now and then, expires grants, destroys the
        keys of secrets past their replay window, escalates takedown requests near
        their deadline and runs the retroactive scans new works call for."""
        if time.monotonic() >= self._next_expiry:
            self._next_expiry = time.monotonic() + self.expiry_interval
            await self.run_in_thread(self.expire_due_grants, self.app.clock())
            if getattr(self.app, "secrets", None) is not None:
                await self.run_in_thread(self.app.secrets.sweep)
            await self.run_in_thread(self.app.escalate_due_takedowns)
            if self._scanning is None or self._scanning.done():
                # A scan of 100,000 videos takes a minute: on a thread of its own, so that
                # the read models (and revocations) go on meanwhile.
                self._scanning = asyncio.ensure_future(asyncio.to_thread(self._scan))

    def _scan(self) -> None:
        try:
            self.app.run_retroactive_scans()
        except Exception:  # a batch that failed is retried from its cursor next time
            log.exception("retroactive scans stopped")

    def expire_due_grants(self, now: datetime) -> list[UUID]:
        """Records `Grant.Expired` for grants past their end; the takedown follows from the
        event like any revocation."""
        expired = []
        for grant_id in self.index.grants_due(now):
            try:
                if self.app.expire_grant(grant_id):
                    expired.append(grant_id)
            except Exception:
                log.exception("could not expire grant %s", grant_id)
        return expired
