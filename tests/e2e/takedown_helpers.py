"""Helpers of the takedown journeys: a public request filed with a solved proof of work, and
the reviewer's side of it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from adapters.proof_of_work import solve
from inference.face_scan import sample_frames
from inference.perceptual import hash_frames
from tests.e2e.conftest import Api
from tests.e2e.review_helpers import staff
from tests.fakes import findings

STATEMENT = "I am the person in this video and I never consented to it being made or shared."


async def proof(api: Api) -> str:
    challenge = await api.call("GET", "/takedown-requests/challenge")
    return solve(challenge["challenge"])


async def file_request(api: Api, generation_id: str | None, *, category: str = "intimate_imagery",
                       expect: int = 201, **changes: Any) -> Any:
    body: dict[str, Any] = {
        "proof_of_work": await proof(api), "generation_id": generation_id,
        "category": category, "relation": "depicted_person",
        "good_faith_statement": STATEMENT, "signature": "Jane Roe",
        "contact": {"email": "jane@example.org"}}
    body.update(changes)
    return await api.call("POST", "/takedown-requests", json=body, expect=expect)


async def status(api: Api, filed: dict[str, Any], expect: int = 200) -> Any:
    return await api.call("GET", filed["status_url"], params={"token": filed["token"]},
                          expect=expect)


async def takedown_case(api: Api, reviewer: str, generation_id: str) -> dict[str, Any]:
    """The open case of a takedown request about the video, as a reviewer's queue lists it."""
    queue = await api.call("GET", "/review/cases", reviewer)
    [case] = [c for c in queue["items"] if c["subject_id"] == generation_id
              and c["queue"] == "takedowns"]
    return dict(case)


async def reviewer(api: Api, name: str = "tess") -> str:
    return (await staff(api, name))[1]


def frame_hashes(mp4: bytes) -> tuple[str, ...]:
    """The PDQ of each usable frame sampled at 2 fps: what the worker's work scan records."""
    return hash_frames(sample_frames(mp4, 2.0)).frame_hex


async def publish_frames(api: Api, token: str, prompt: str, mp4: bytes,
                         remix_of: str | None = None) -> str:
    """A generation requested over HTTP whose recorded scan saw the frames of `mp4`, then
    marked and published as the worker would; returns its id."""
    body: dict[str, Any] = {"prompt": prompt, "seconds": 2}
    if remix_of:
        body["remix_of"] = remix_of
    gid = (await api.call("POST", "/generations", token, expect=201, json=body))[
        "generation_id"]
    app = api.container.app
    await api.worker(app.record_render, UUID(gid), "a" * 64, 48, 2.0, "w1", 1)
    await api.worker(app.record_scan, UUID(gid), findings(frame_hashes=frame_hashes(mp4)))
    serial = await api.worker(app.assign_watermark_serial, UUID(gid))
    await api.worker(app.record_watermark, UUID(gid), serial.hex(), "b" * 64, "c" * 64)
    await api.worker(app.publish_generation, UUID(gid))
    return str(gid)


async def scanned(api: Api, token: str, prompt: str, mp4: bytes) -> dict[str, Any]:
    """A new generation whose scan saw the frames of `mp4`; its status after the scan."""
    gid = (await api.call("POST", "/generations", token, expect=201,
                          json={"prompt": prompt, "seconds": 2}))["generation_id"]
    app = api.container.app
    await api.worker(app.record_render, UUID(gid), "a" * 64, 48, 2.0, "w1", 1)
    await api.worker(app.record_scan, UUID(gid), findings(frame_hashes=frame_hashes(mp4)))
    return dict(await api.call("GET", f"/generations/{gid}", token))
