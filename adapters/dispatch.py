"""Event log → job queue: a tracked process that queues the worker's jobs (a submitted
verification to decide, an allowed generation to render and scan). The log, not the
command, is what queues a job, so a crash between a commit and an enqueue, or in-process
jobs lost with their process, cost nothing: at every start the pending work is rebuilt
from the log and queued again (deterministic job ids make that harmless)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from adapters.tracing import LINKS
from domain.generation import STEPS, Generation, target_of
from domain.identity import Identity
from domain.ids import identity_id
from domain.jobs import GENERATE, VERIFY_IDENTITY, Job, JobQueue
from projections.base import Batch

log = logging.getLogger(__name__)

_IDENTITY_SETTLED = (Identity.Verified, Identity.VerificationFailed, Identity.Erased,
                     Identity.VerificationStarted)  # a new challenge supersedes a submission


class JobDispatcher:
    """Runs in the projection runner like a view (`position`/`apply`, and `tick` between
    rounds). It keeps only the pending subjects in memory: identities with a submission
    awaiting a decision, and generations in a state the worker moves on (the lifecycle's
    `STEPS`), each with the log position of the event that sent it there, which names its
    job: a generation released again by a reviewer is new work with a new id. While the
    runner catches up with the log at start nothing is queued;
    `caught_up()` then queues the whole pending set, and from then on each new trigger is
    queued as it is applied.

    A refused enqueue (the same job already queued or running) is tried again now and then
    until accepted once, while the subject is still pending: the running attempt may have
    read the subject before the event that queued it."""

    name = "job-dispatcher"

    def __init__(self, app: Any, jobs: JobQueue, retry_interval: float = 2.0) -> None:
        self.app = app
        self.jobs = jobs
        self.retry_interval = retry_interval
        self._seen = 0
        self._live = False  # caught up with the log once: triggers are queued as they come
        # identity id -> member id (None: not derivable from the event, looked up on queueing)
        self.identities: dict[UUID, UUID | None] = {}
        self.generations: dict[UUID, int] = {}  # generation id -> round of its job
        self._unsent: set[Job] = set()
        self._next_retry = 0.0
        # The runner replaces this with its own thread, which it waits for when stopping.
        self.run_in_thread: Callable[..., Awaitable[Any]] = asyncio.to_thread

    async def position(self) -> int:
        return self._seen

    async def apply(self, batch: Batch) -> None:
        triggered: list[Job | UUID] = []
        for position, event in batch:
            if position <= self._seen:
                continue
            self._seen = position
            item = self._track(position, event)
            if item is not None and self._live:
                triggered.append(item)
        for item in triggered:
            await self._send(item)

    async def caught_up(self) -> None:
        """Called once the log has been read at start (the read side does, and the runner's
        first `tick` otherwise): queues the pending set, then each trigger as it comes."""
        if self._live:
            return
        self._live = True
        pending: list[Job | UUID] = [*self.identities]
        pending += [Job(GENERATE, str(g), r, LINKS.get(g)) for g, r in self.generations.items()]
        log.info("queueing %d pending jobs", len(pending))
        for item in pending:
            await self._send(item)

    async def tick(self) -> None:
        if not self._live:
            await self.caught_up()
        elif self._unsent and time.monotonic() >= self._next_retry:
            self._next_retry = time.monotonic() + self.retry_interval
            for job in list(self._unsent):
                self._unsent.discard(job)
                if self._pending(job):
                    await self._send(job)

    def _track(self, position: int, event: Any) -> Job | UUID | None:
        """Updates the pending sets; returns what the event asks to queue, if anything (an
        identity id, resolved to its member when queued, or a generation's job)."""
        subject = event.originator_id
        if isinstance(event, Identity.VerificationSubmitted):
            self.identities[subject] = _member_of(event)
            return subject
        if isinstance(event, _IDENTITY_SETTLED):
            self.identities.pop(subject, None)
            return None
        if not isinstance(event, Generation.Event):
            return None
        state = target_of(event)
        if state is None:
            return None  # the state stays as it was
        if state not in STEPS:
            self.generations.pop(subject, None)  # settled, or waiting for a person
            return None
        if subject in self.generations:
            return None  # a step of the job already running: it goes on by itself
        self.generations[subject] = position
        return Job(GENERATE, str(subject), position, LINKS.get(subject))

    def _pending(self, job: Job) -> bool:
        subject = UUID(job.subject_id)
        if job.kind == GENERATE:
            return self.generations.get(subject) == job.round
        return identity_id(subject) in self.identities

    async def _send(self, item: Job | UUID) -> None:
        """Queues a job (a UUID is an identity whose submission awaits a decision) if its
        subject is still pending; a failure is logged and tried again later."""
        job: Job | None = None
        try:
            if isinstance(item, Job):
                job = item if self._pending(item) else None
            elif item in self.identities:
                member_id = self.identities[item] or await self.run_in_thread(
                    self._look_up_member, item)
                if item in self.identities:
                    self.identities[item] = member_id
                    job = Job(VERIFY_IDENTITY, str(member_id), trace=LINKS.get(item))
            if job is not None and not await self.jobs.enqueue(job):
                self._unsent.add(job)
        except Exception:
            log.exception("could not queue %s; trying again later", job or item)
            if job is not None:
                self._unsent.add(job)

    def _look_up_member(self, identity: UUID) -> UUID:
        member_id: UUID = self.app.get(Identity, identity).member_id
        return member_id


def _member_of(event: Identity.VerificationSubmitted) -> UUID | None:
    """A member submits their own verification, so the actor is the member; checked against
    the identity id, which derives from the member id."""
    try:
        member_id = UUID(event.actor_id)
    except ValueError:
        return None
    return member_id if identity_id(member_id) == event.originator_id else None
