"""Chooses the job queue from the settings (CONSENTRY_QUEUE): jobs run in this process, or go
to Redis for `consentry worker` processes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.jobs import GiveUpHandler, JobHandler, JobQueue

if TYPE_CHECKING:
    from adapters.bootstrap import Container


def build_job_queue(container: Container,
                    handlers: tuple[dict[str, JobHandler], GiveUpHandler] | None = None
                    ) -> JobQueue:
    """Not started: call `start()` before the read side starts (its dispatcher enqueues) and
    `close()` after the read side closed. `handlers` defaults to the worker's own
    (`adapters.worker.build_handlers`); with arq this process only enqueues."""
    settings = container.settings
    if settings.queue == "arq":
        from adapters.jobs_arq import ArqJobQueue

        return ArqJobQueue(settings.redis_url, queue_name=settings.queue_name)
    from adapters.jobs_inprocess import InProcessJobQueue

    if handlers is None:
        from adapters.worker import build_handlers

        handlers = build_handlers(container)
    run, give_up = handlers
    return InProcessJobQueue(run, give_up=give_up)
