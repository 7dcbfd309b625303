"""The span tree of one generation, from POST /generations to Published: the request, the
command (with the gate's outcome and the aggregate ids), the job and each pipeline step, in
one trace. With the in-process queue, and with arq and a separate worker process (whose
spans the SDK's console exporter writes to a file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.tracing import configure_tracing, disable_tracing
from tests import face_media
from tests.e2e.conftest import AnyLiveApi, LiveApi, LiveArqApi
from tests.e2e.test_journey_pipeline import generate, verified_member

pytestmark = pytest.mark.e2e
STEPS = ["pipeline render", "pipeline scan", "pipeline finish", "pipeline publish"]


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    attributes: dict[str, Any]


def from_sdk(exporter: InMemorySpanExporter) -> list[Span]:
    return [Span(s.name, f"{s.context.trace_id:032x}", f"{s.context.span_id:016x}",
                 f"{s.parent.span_id:016x}" if s.parent else None, dict(s.attributes or {}))
            for s in exporter.get_finished_spans()]


def from_json_lines(path: Path) -> list[Span]:
    spans = []
    for line in path.read_text().splitlines():
        s = json.loads(line)
        spans.append(Span(s["name"], s["context"]["trace_id"][2:], s["context"]["span_id"][2:],
                          s["parent_id"][2:] if s["parent_id"] else None, s["attributes"]))
    return spans


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    configure_tracing("consentry-test", memory)
    yield memory
    disable_tracing()


def assert_one_generation_tree(spans: list[Span], generation_id: str) -> None:
    by_id = {s.span_id: s for s in spans}
    [request] = [s for s in spans if s.name == "POST /generations"]
    assert request.parent_id is None and request.attributes["http.response.status_code"] == 201
    trace = [s for s in spans if s.trace_id == request.trace_id]
    [command] = [s for s in trace if s.name == "command request_generation"]
    assert command.parent_id == request.span_id
    assert command.attributes["consentry.gate.outcome"] == "allow"
    assert generation_id in command.attributes["consentry.aggregate_ids"]
    jobs = [s for s in trace if s.name == "job generate"]
    assert jobs, [s.name for s in trace]
    assert all(j.parent_id == command.span_id for j in jobs)
    assert all(j.attributes["consentry.subject_id"] == generation_id for j in jobs)
    steps = [s for s in trace if s.name.startswith("pipeline ")]
    assert sorted({s.name for s in steps}, key=STEPS.index) == STEPS
    assert all(by_id[s.parent_id].name == "job generate" for s in steps if s.parent_id)
    assert all(s.attributes["consentry.generation_id"] == generation_id for s in steps)


async def one_generation(live: AnyLiveApi, exporter: InMemorySpanExporter) -> str:
    _, token = await verified_member(live, "ada", face_media.astronaut(), seed=1)
    exporter.clear()
    video = await generate(live, token, "a quiet walk in the forest", [])
    assert video["state"] == "published", video
    return str(video["id"])


async def test_the_span_tree_of_one_generation_with_the_in_process_queue(
        live: LiveApi, exporter: InMemorySpanExporter):
    generation_id = await one_generation(live, exporter)
    assert_one_generation_tree(from_sdk(exporter), generation_id)


async def test_the_span_tree_of_one_generation_across_arq_and_a_worker_process(
        live_arq: LiveArqApi, exporter: InMemorySpanExporter, tmp_path: Path):
    spans_file = tmp_path / "worker-spans.jsonl"
    live_arq.worker_process.stop()
    live_arq.worker_process.start(CONSENTRY_TEST_SPANS_FILE=str(spans_file))
    generation_id = await one_generation(live_arq, exporter)
    worker_spans = from_json_lines(spans_file)
    assert {s.name for s in worker_spans} >= {"job generate", *STEPS}
    assert_one_generation_tree(from_sdk(exporter) + worker_spans, generation_id)
