"""The job queue port: the worker's units of work (a verification to decide, a generation to
render and scan), named deterministically so that enqueuing twice runs once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

VERIFY_IDENTITY = "verify_identity"  # subject: the member id
GENERATE = "generate"  # subject: the generation id


class TransientJobError(RuntimeError):
    """A failure worth another attempt (a service briefly unreachable, a write conflict);
    the queue retries it with backoff. Any other exception is final for the attempt too,
    but the queue still retries it up to its limit: a job is never dropped silently."""


@dataclass(frozen=True)
class Job:
    """`round` tells apart the times a subject is sent to the worker: for a generation, the
    log position of the event that sent it (its decision, or a reviewer's release), so each
    is new work with its own id, and every process derives the same id from the log."""

    kind: str
    subject_id: str
    round: int = 0
    # W3C trace context (traceparent, tracestate) of the request that caused the job, so
    # the worker's spans join its trace; not part of the job's identity.
    trace: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def id(self) -> str:
        """Deterministic: the same work always has the same id, whoever enqueues it."""
        base = f"{self.kind}:{self.subject_id}"
        return f"{base}:{self.round}" if self.round else base


# A handler does the job synchronously (it is CPU-bound: the queue runs it off the event
# loop) and must be idempotent: a retried or re-delivered job finds its completed steps
# recorded as events and skips them. `attempt` counts from 1.
JobHandler = Callable[[Job, int], None]

# Called once a job has used up its attempts, with the last error: the place to fail
# closed (hold the generation for review, fail the verification) instead of dropping it.
GiveUpHandler = Callable[[Job, BaseException], None]


class JobQueue(Protocol):
    async def enqueue(self, job: Job) -> bool:
        """Queues the job; False when a job with the same id is already queued or running
        (or, for queues that keep results, finished recently)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...
