"""Journeys 2, 3 and 5 once more with the production topology: the API on PostgreSQL only
queues the jobs on Redis, and a separate worker process (what `consentry worker` runs)
decides verifications and renders, scans, marks and publishes. A worker killed mid-job is
replaced, and the video is still published exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.generation import Generation
from tests import face_media
from tests.e2e.conftest import LiveArqApi
from tests.e2e.test_journey_pipeline import (
    bea,
    face_png,
    generate,
    mutual_cameos,
    verified_member,
)
from tests.e2e.test_provenance import stripped_half_size_copy

pytestmark = pytest.mark.e2e


def events_of(live: LiveArqApi, generation_id: str) -> list[Any]:
    return list(live.container.app.events.get(UUID(generation_id)))


def recorded_by(event: Any, pid: int) -> bool:
    """The pipeline's actor is `worker:<host>-<pid>`."""
    return str(event.actor_id).endswith(f"-{pid}")


async def test_the_worker_process_publishes_mutual_cameos_traced_back(live_arq: LiveArqApi):
    ada, ada_token, bea_id, bea_token = await mutual_cameos(live_arq)

    video = await generate(live_arq, ada_token, "two friends on a sunny beach", [ada, bea_id])

    assert video["state"] == "published", video
    rendered = [e for e in events_of(live_arq, video["id"]) if isinstance(e, Generation.Rendered)]
    assert len(rendered) == 1 and recorded_by(rendered[0], live_arq.worker_process.pid)
    feed = await live_arq.call("GET", "/feed", bea_token)
    assert video["id"] in [item["generation_id"] for item in feed["items"]]
    response = await live_arq.client.get(f"/generations/{video['id']}/video",
                                         headers=live_arq.auth(bea_token))
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    # journey 5: the API process reads the worker's watermark and C2PA manifest back
    for upload in (response.content, stripped_half_size_copy(response.content)):
        found = await live_arq.call("POST", "/provenance", content=upload,
                                    headers={"content-type": "video/mp4"})
        assert found["found"] and found["generation"]["id"] == video["id"], found


async def test_the_worker_process_blocks_a_leaked_face(live_arq: LiveArqApi, tmp_path: Path):
    """Journey 3: the worker's generator shows Bea, whom the request never named."""
    leaked = tmp_path / "leaked-face.png"
    leaked.write_bytes(face_png(bea()))
    live_arq.worker_process.stop()
    live_arq.worker_process.start(CONSENTRY_TEST_LEAKED_FACE=str(leaked))
    _, ada_token = await verified_member(live_arq, "ada", face_media.astronaut(), seed=3)
    await verified_member(live_arq, "bea", bea(), seed=4)

    video = await generate(live_arq, ada_token, "a quiet walk in the forest", [])

    assert video["state"] == "rejected", video
    assert "FACE-NOT-OTHERS" in video["rule_codes"]
    response = await live_arq.client.get(f"/generations/{video['id']}/video",
                                         headers=live_arq.auth(ada_token))
    assert response.status_code == 404
    generation = live_arq.container.app.get(Generation, UUID(video["id"]))
    assert generation.artifact_digest and not live_arq.container.blobs.exists(
        generation.artifact_digest), "the rejected render is deleted"


async def until_rendered(live: LiveArqApi, generation_id: str, timeout: float = 90.0
                         ) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = await asyncio.to_thread(events_of, live, generation_id)
        if any(isinstance(e, Generation.Rendered) for e in events):
            return events
        live.worker_process.check_running()
        await asyncio.sleep(0.05)
    pytest.fail(f"no render recorded within {timeout:.0f} s; the worker's log:\n"
                f"{live.worker_process.tail()}", pytrace=False)


async def test_a_worker_killed_mid_job_is_replaced_and_publishes_once(live_arq: LiveArqApi):
    worker = live_arq.worker_process
    # The scan waits a few seconds, so the kill lands between the render and the scan; a
    # short job timeout lets the dead worker's in-progress key expire soon.
    env = {"CONSENTRY_TEST_SCAN_DELAY": "3", "CONSENTRY_TEST_JOB_TIMEOUT": "20"}
    worker.stop()
    worker.start(**env)
    _, ada_token = await verified_member(live_arq, "ada", face_media.astronaut(), seed=6)
    requested = await live_arq.call("POST", "/generations", ada_token, expect=201,
                                    json={"prompt": "a lighthouse at dusk", "seconds": 3})
    generation_id = requested["generation_id"]

    at_kill = await until_rendered(live_arq, generation_id)
    first = worker.pid
    worker.kill()
    assert not any(isinstance(e, Generation.Scanned) for e in at_kill), "killed mid-job"
    worker.start(**env)
    second = worker.pid
    await live_arq.settle()

    events = events_of(live_arq, generation_id)
    counts = Counter(type(e).__name__ for e in events)
    assert [counts[step] for step in ("Rendered", "Scanned", "Watermarked", "Published")] \
        == [1, 1, 1, 1], counts
    by_type = {type(e).__name__: e for e in events}
    assert recorded_by(by_type["Rendered"], first) and by_type["Rendered"].attempt == 1
    assert all(recorded_by(by_type[step], second)
               for step in ("Scanned", "Watermarked", "Published"))
    video = await live_arq.call("GET", f"/generations/{generation_id}", ada_token)
    assert video["state"] == "published", video
    generation = live_arq.container.app.get(Generation, UUID(generation_id))
    response = await live_arq.client.get(f"/generations/{generation_id}/video",
                                         headers=live_arq.auth(ada_token))
    assert response.status_code == 200
    assert live_arq.container.blobs.get(generation.published_digest) == response.content
