"""Where the domain meets metrics, traces and log context: the application's commit hook
(gate and after-generation outcomes, the aggregates a command wrote), the pipeline's
observer, and the job handlers wrapped in a span that joins the request's trace."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from adapters import metrics
from adapters.logging_setup import CONTEXT, bind
from adapters.tracing import LINKS, carrier, extract, tracer
from domain.generation import Generation
from domain.identity import Identity
from domain.jobs import GENERATE, Job, JobHandler
from domain.takedown import TakedownRequest

T = TypeVar("T")


def on_commit(events: Sequence[Any]) -> None:
    """The application's commit hook: counts recorded decisions once each (a replayed
    idempotent command commits nothing), and tells the current span, the log context and
    the trace links which aggregates the command wrote."""
    try:
        _count(events)
        _annotate(events)
    except Exception:  # noqa: S110 - the events are saved; telemetry must not fail them
        pass


def _count(events: Sequence[Any]) -> None:
    scanned = False
    rejected: tuple[str, ...] | None = None
    held: tuple[str, ...] | None = None
    for event in events:
        if isinstance(event, Generation.Decided):
            metrics.GATE_DECISIONS.labels(event.outcome).inc()
            for code in event.rule_codes:
                metrics.GATE_FAILED_RULES.labels(code, event.outcome).inc()
        elif isinstance(event, Generation.Scanned):
            scanned = True
        elif isinstance(event, Generation.Rejected) and event.actor_role == "worker":
            rejected = tuple(event.rule_codes)
        elif isinstance(event, Generation.HeldForReview) and event.actor_role == "worker":
            held = tuple(event.reasons)
        elif isinstance(event, TakedownRequest.Actioned) \
                and event.deadline_margin_seconds is not None:
            metrics.TAKEDOWN_MARGIN.labels(event.category).observe(
                event.deadline_margin_seconds)
    if scanned:
        outcome = "reject" if rejected is not None else "review" if held is not None \
            else "allow"
        metrics.POST_RULE_OUTCOMES.labels(outcome).inc()
    for codes, outcome in ((rejected, "reject"), (held, "review")):
        for code in codes or ():
            metrics.POST_RULE_FAILED.labels(code, outcome).inc()


def _annotate(events: Sequence[Any]) -> None:
    ids = list(dict.fromkeys(str(e.originator_id) for e in events))
    generations = [str(e.originator_id) for e in events if isinstance(e, Generation.Event)]
    if generations:
        bind(generation_id=generations[0])
    span = trace.get_current_span()
    if not span.get_span_context().is_valid:
        return
    span.set_attribute("consentry.aggregate_ids", ids)
    for event in events:
        if isinstance(event, Generation.Decided):
            span.set_attribute("consentry.gate.outcome", event.outcome)
            span.set_attribute("consentry.gate.rule_codes", list(event.rule_codes))
    headers = carrier()
    for event in events:
        if isinstance(event, Generation.Event | Identity.VerificationSubmitted):
            LINKS.remember(event.originator_id, headers)


def traced_command(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs one application command in a span of its own (the commit hook adds the
    aggregate ids and the gate's outcome)."""
    with tracer().start_as_current_span(f"command {name}") as span:
        span.set_attribute("consentry.command", name)
        return fn(*args, **kwargs)


class PipelineTelemetry:
    """The pipeline's observer: a span per step, a histogram sample per stage."""

    @contextlib.contextmanager
    def step(self, name: str, generation_id: str) -> Iterator[None]:
        with tracer().start_as_current_span(f"pipeline {name}") as span:
            span.set_attribute("consentry.generation_id", generation_id)
            span.set_attribute("consentry.step", name)
            yield

    def stage(self, name: str, seconds: float) -> None:
        metrics.STAGE_SECONDS.labels(name).observe(seconds)


def traced_handler(kind: str, handler: JobHandler) -> JobHandler:
    """The handler inside a span whose parent is the trace context the job carries, with
    the job's ids in the log context."""
    def run(job: Job, attempt: int) -> None:
        log_context = {"job_id": job.id}
        if job.kind == GENERATE:
            log_context["generation_id"] = job.subject_id
        token = CONTEXT.set(log_context)
        started = time.perf_counter()
        try:
            with tracer().start_as_current_span(
                    f"job {kind}", context=extract(job.trace), kind=SpanKind.CONSUMER,
                    attributes={"consentry.job_id": job.id, "consentry.job.kind": kind,
                                "consentry.job.attempt": attempt,
                                "consentry.subject_id": job.subject_id}) as span:
                try:
                    handler(job, attempt)
                except Exception as error:
                    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                    raise
        finally:
            metrics.JOB_SECONDS.labels(kind).observe(time.perf_counter() - started)
            CONTEXT.reset(token)

    return run


def count_attempt(kind: str, outcome: str) -> None:
    """One job attempt's outcome: done, retried, timed_out (and retried), gave_up."""
    metrics.JOB_ATTEMPTS.labels(kind, outcome).inc()
