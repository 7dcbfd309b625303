"""Prometheus metrics (prometheus-client), safe across processes: every series Consentry
exports is declared here; docs/operations.md says what each means. Entry points call
`prepare_multiprocess_dir` before this module is imported (see adapters/metrics_dir.py)."""

from __future__ import annotations

import os
import threading
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STAGES = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
REVOCATION = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
MARGIN = (-86_400.0, -3_600.0, 0.0, 3_600.0, 6 * 3_600.0, 24 * 3_600.0, 48 * 3_600.0)

HTTP_REQUESTS = Counter(
    "consentry_http_requests", "HTTP requests answered, by route template and status",
    ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "consentry_http_request_duration_seconds", "Time to answer an HTTP request",
    ["method", "route", "status"], buckets=LATENCY)
GATE_DECISIONS = Counter(
    "consentry_gate_decisions", "Pre-generation gate decisions recorded, by outcome",
    ["outcome"])
GATE_FAILED_RULES = Counter(
    "consentry_gate_failed_rules", "Rules that did not pass in recorded gate decisions "
    "(one per rule code per decision)", ["rule", "outcome"])
POST_RULE_OUTCOMES = Counter(
    "consentry_post_rule_outcomes", "After-generation rule outcomes of recorded scans",
    ["outcome"])
POST_RULE_FAILED = Counter(
    "consentry_post_rule_failed_rules", "After-generation rules that rejected or held a "
    "generation (one per rule code)", ["rule", "outcome"])
STAGE_SECONDS = Histogram(
    "consentry_pipeline_stage_seconds", "Duration of each pipeline stage", ["stage"],
    buckets=STAGES)
JOB_ATTEMPTS = Counter(
    "consentry_job_attempts", "Job attempts by kind and outcome (done, retried, timed_out, "
    "gave_up)", ["kind", "outcome"])
JOB_SECONDS = Histogram(
    "consentry_job_attempt_duration_seconds", "Duration of a job attempt", ["kind"],
    buckets=STAGES)
QUEUE_DEPTH = Gauge(
    "consentry_queue_depth", "Jobs waiting in the queue (not running)", ["queue"],
    multiprocess_mode="livemostrecent")
QUEUE_OLDEST = Gauge(
    "consentry_queue_oldest_job_age_seconds", "Age of the oldest waiting job (0: none)",
    ["queue"], multiprocess_mode="livemostrecent")
LOG_HEAD = Gauge(
    "consentry_log_head_position", "Position of the last event in the log",
    multiprocess_mode="livemax")
READ_MODEL_LAG = Gauge(
    "consentry_read_model_lag_events", "Events the read models and log processes of a "
    "process have not applied yet (`reader`: its projection runner)", ["reader"],
    multiprocess_mode="liveall")
FOLLOWER_LAG = Gauge(
    "consentry_follower_lag_events", "Events an in-memory index (LogFollower) has not seen",
    ["follower"], multiprocess_mode="liveall")
REVOCATION_SECONDS = Histogram(
    "consentry_revocation_takedown_seconds", "From a consent's withdrawal (event time) to "
    "the takedown or hold it caused being committed", buckets=REVOCATION)
REVIEW_CASES = Gauge(
    "consentry_review_queue_cases", "Review cases a reviewer can act on, by priority and "
    "state", ["priority", "state"], multiprocess_mode="livemostrecent")
REVIEW_OLDEST = Gauge(
    "consentry_review_oldest_case_age_seconds", "Age of the oldest actionable case",
    ["priority"], multiprocess_mode="livemostrecent")
TAKEDOWN_MARGIN = Histogram(
    "consentry_takedown_request_deadline_margin_seconds", "Deadline minus the time a "
    "takedown request was actioned (negative: late)", ["category"], buckets=MARGIN)
TAKEDOWN_OPEN_MARGIN = Gauge(
    "consentry_takedown_request_open_min_margin_seconds", "Time left before the nearest "
    "deadline of an open takedown request", ["category"], multiprocess_mode="livemostrecent")
WEBHOOK_ATTEMPTS = Counter(
    "consentry_webhook_attempts", "Webhook delivery attempts by outcome (accepted, failed, "
    "refused: target not allowed)", ["outcome"])
WEBHOOK_DELIVERED_SECONDS = Histogram(
    "consentry_webhook_commit_to_delivery_seconds", "From the event's commit to the "
    "receiver accepting its delivery", buckets=(*LATENCY, 30.0, 300.0, 3600.0))
WEBHOOK_PENDING = Gauge(
    "consentry_webhook_pending_deliveries", "Deliveries not yet accepted nor given up",
    multiprocess_mode="livemostrecent")
WEBHOOK_GAVE_UP = Counter(
    "consentry_webhook_deliveries_given_up", "Deliveries that failed every attempt")
WEBHOOK_DISABLED = Counter(
    "consentry_webhook_endpoints_disabled", "Endpoints disabled after failing for hours")

_server_lock = threading.Lock()


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def registry() -> CollectorRegistry:
    """What a scrape reads: every process's files in multiprocess mode, else this process."""
    if not multiprocess_mode():
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    return collected


def render() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def serve(port: int, bind: str = "127.0.0.1") -> Any:
    """A /metrics HTTP server of its own (a daemon thread) on `bind:port`."""
    with _server_lock:
        return start_http_server(port, addr=bind, registry=registry())


def mark_process_dead(pid: int | None = None) -> None:
    """Drops this process's live gauges from the shared directory (call on shutdown)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(pid or os.getpid())

