"""/metrics of a real `consentry serve --workers 2` (two uvicorn worker processes sharing one
prometheus-client multiprocess directory, on PostgreSQL, jobs queued to Redis with no worker
running) after a journey: requests by route template and status summed over both
processes, gate decisions with their failing rules, the queue, a revocation's latency, the
review queue and the lag gauges of both processes."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from tests.e2e.test_two_api_processes import Server, start, stop
from tests.fakes import WORKER
from tests.verification_media import placeholder_video

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_workers(pg_schema: tuple[str, str], redis_url: str, tmp_path: Path
                ) -> Iterator[tuple[Server, Any, str]]:
    dsn, schema = pg_schema
    container = bootstrap(Settings(store="postgres", pg_dsn=dsn, pg_schema=schema,
                                   data_dir=tmp_path))
    admin = container.app.create_first_admin("root")["secret"]
    env = {"CONSENTRY_STORE": "postgres", "CONSENTRY_PG_DSN": dsn,
           "CONSENTRY_PG_SCHEMA": schema, "CONSENTRY_DATA_DIR": str(tmp_path),
           "CONSENTRY_QUEUE": "arq", "CONSENTRY_REDIS_URL": redis_url,
           "CONSENTRY_QUEUE_NAME": f"test-jobs-{uuid.uuid4().hex}",
           "CONSENTRY_LOG_FORMAT": "json",
           # no instruction checker: a cameo with instructions goes to a person (review)
           "CONSENTRY_PROMPT_MODELS": "keywords"}
    server = start(env, tmp_path / "server.log", "--workers", "2")
    try:
        yield server, container, admin
    finally:
        stop(server)
        container.close()


def call(server: Server, method: str, path: str, token: str | None = None,
         expect: int = 200, **kwargs: Any) -> Any:
    headers = {**kwargs.pop("headers", {}),
               **({"Authorization": f"Bearer {token}"} if token else {})}
    response = httpx.request(method, server.url + path, headers=headers, timeout=30, **kwargs)
    assert response.status_code == expect, (response.status_code, response.text)
    return response.json() if response.content else None


def member(server: Server, container: Any, admin: str, handle: str) -> tuple[str, str]:
    code = call(server, "POST", "/members/me/invites", admin, 201, json={"count": 1})["codes"][0]
    body = call(server, "POST", "/members", None, 201,
                json={"invite_code": code, "handle": handle})
    challenge = call(server, "POST", "/identity/verifications", body["secret"], 201)
    call(server, "POST", challenge["upload_to"], body["secret"], 202,
         content=placeholder_video(handle), headers={"content-type": "video/mp4"})
    container.app.complete_verification(WORKER, UUID(body["member_id"]), b"\x01" * 32,
                                        "test-model", 0.9, 0.95)
    return body["member_id"], body["secret"]


def scrape(server: Server) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    """The sum over the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def test_metrics_after_a_journey_on_two_uvicorn_workers(two_workers: tuple[Server, Any, str]):
    server, container, admin = two_workers
    _, ada_token = member(server, container, admin, "ada")
    bea, bea_token = member(server, container, admin, "bea")
    call(server, "POST", "/cameo/enable", bea_token, json={"permission": "everyone"})
    # allowed while no work is registered (with one, and no semantic matcher in keywords
    # mode, every prompt would go to a person)
    call(server, "POST", "/generations", ada_token, 201,
         json={"prompt": "a walk in the park", "seconds": 3, "cameo_owner_ids": [bea]})
    holder = call(server, "POST", "/rights-holders", admin, 201,
                  json={"name": "Studio", "proof": "ref"})["secret"]
    call(server, "POST", "/works", holder, 201,
         json={"title": "Zorblax", "kind": "character", "aliases": ["zorblax"]})
    call(server, "POST", "/generations", ada_token, 403,
         json={"prompt": "zorblax dances", "seconds": 3})
    call(server, "POST", "/cameo/restrictions", bea_token,
         json={"forbidden_categories": [], "instructions": "never show me sad"})
    call(server, "POST", "/generations", ada_token, 202,
         json={"prompt": "a picnic by the lake", "seconds": 3, "cameo_owner_ids": [bea]})
    call(server, "POST", "/cameo/disable", bea_token)  # revokes: the queued video falls

    deadline = time.monotonic() + 60
    while True:
        samples = scrape(server)
        if value(samples, "consentry_revocation_takedown_seconds_count") >= 1 \
                and value(samples, "consentry_review_queue_cases") >= 1 \
                and value(samples, "consentry_queue_depth", queue="arq") >= 1:
            break
        assert time.monotonic() < deadline, (sorted(n for n, _ in samples), server.tail())
        time.sleep(0.5)  # polling the scrape until the gauges are sampled, with a deadline

    route = {"method": "POST", "route": "/generations"}
    assert value(samples, "consentry_http_requests_total", status="201", **route) == 1
    assert value(samples, "consentry_http_requests_total", status="403", **route) == 1
    assert value(samples, "consentry_http_requests_total", status="202", **route) == 1
    assert value(samples, "consentry_http_request_duration_seconds_count", **route) == 3
    assert 0 < value(samples, "consentry_http_request_duration_seconds_sum", **route) < 30
    assert value(samples, "consentry_http_requests_total",
                 route="/members", method="POST", status="201") == 2
    assert value(samples, "consentry_gate_decisions_total", outcome="allow") == 1
    assert value(samples, "consentry_gate_decisions_total", outcome="deny") == 1
    assert value(samples, "consentry_gate_decisions_total", outcome="review") == 1
    assert value(samples, "consentry_gate_failed_rules_total", rule="WORK-LICENSED",
                 outcome="deny") == 1
    assert value(samples, "consentry_gate_failed_rules_total", rule="CAMEO-RESTRICTIONS",
                 outcome="review") == 1
    # no worker runs: two verifications and the allowed generation wait in Redis
    assert value(samples, "consentry_queue_depth", queue="arq") >= 1
    assert 0 <= value(samples, "consentry_queue_oldest_job_age_seconds", queue="arq") < 120
    revocations = value(samples, "consentry_revocation_takedown_seconds_count")
    assert 0 < value(samples, "consentry_revocation_takedown_seconds_sum") < 30 * revocations
    assert value(samples, "consentry_review_queue_cases", state="open") >= 1
    head = value(samples, "consentry_log_head_position")
    assert head >= 20
    lags = [(ls, v) for (n, ls), v in samples.items() if n == "consentry_read_model_lag_events"]
    assert len({dict(ls)["pid"] for ls, _ in lags}) == 2, lags  # both worker processes
    assert all(0 <= v <= head for _, v in lags)
    assert value(samples, "consentry_follower_lag_events", follower="work_names") >= 0
    pending = [v for (n, _), v in samples.items() if n == "consentry_webhook_pending_deliveries"]
    assert pending == [0.0], pending  # sampled; no endpoint is registered in this journey
    margins = [v for (n, _), v in samples.items()
               if n == "consentry_takedown_request_open_min_margin_seconds"]
    assert margins and set(margins) == {math.inf}, margins  # sampled; no request is open
