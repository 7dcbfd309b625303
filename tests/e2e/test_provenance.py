"""Journey 5: anyone uploads a published video, or a re-encoded, downscaled copy of it with the
metadata gone, and learns which generation made it and whether it is still published. The
video is made here as the worker would: serial, invisible mark, H.264, C2PA signature."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import numpy as np
from PIL import Image
from skimage import data

from adapters.video_io import PyAvVideoCodec
from api.ratelimit import RateLimits
from domain.provenance import ProvenanceClaim
from inference.perceptual import hash_frames
from tests.e2e.conftest import Api
from tests.fakes import findings, take_down

FPS = 24.0
CODEC = PyAvVideoCodec()


def panning_clip(image: np.ndarray, frames: int = 48, size: tuple[int, int] = (360, 640)
                 ) -> np.ndarray:
    height, width = size
    big = np.asarray(Image.fromarray(image).resize((width + 2 * frames, height)))
    return np.stack([big[:, 2 * t : 2 * t + width] for t in range(frames)])


async def published_video(api: Api, handle: str) -> tuple[str, bytes]:
    """A generation requested over HTTP and published by the worker's recorded steps with a
    watermarked, signed MP4; returns its id and the published file."""
    _, token = await api.member(handle)
    made = await api.call("POST", "/generations", token,
                          json={"prompt": "an astronaut waving", "seconds": 2})
    gid, app, c = UUID(made["generation_id"]), api.container.app, api.container
    assert c.watermarker is not None and c.signer is not None
    clip = panning_clip(data.astronaut())
    await api.worker(app.record_render, gid, "a" * 64, 48, 2.0, "w1", 1)
    # the scan's frame hashes, sampled at 2 fps as the worker does
    sampled = hash_frames((i / FPS, frame) for i, frame in enumerate(clip) if i % 12 == 0)
    await api.worker(app.record_scan, gid, findings(frame_hashes=sampled.frame_hex))
    serial = await api.worker(app.assign_watermark_serial, gid)
    marked = c.watermarker.embed(clip, serial)
    mp4 = CODEC.encode_h264(marked, FPS, crf=20, preset="veryfast")
    signed = c.signer.sign_bytes(mp4, ProvenanceClaim(str(gid), serial))
    await api.worker(app.record_watermark, gid, serial.hex(),
                     hashlib.sha256(signed).hexdigest(), hashlib.sha256(signed).hexdigest())
    await api.worker(app.publish_generation, gid)
    return str(gid), signed


async def lookup(api: Api, video: bytes, media_type: str = "video/mp4",
                 expect: int = 200) -> Any:
    return await api.call("POST", "/provenance", content=video, expect=expect,
                          headers={"content-type": media_type})


def stripped_half_size_copy(mp4: bytes) -> bytes:
    """Decoded, scaled to 50%, encoded again: a new file with no manifest."""
    frames = CODEC.decode(mp4).frames
    half = np.stack([np.asarray(Image.fromarray(f).resize((320, 180), Image.Resampling.BILINEAR))
                     for f in frames])
    return CODEC.encode_h264(half, FPS, crf=23, preset="veryfast")


async def test_a_published_video_and_its_stripped_copy_name_their_generation(api: Api):
    gid, signed = await published_video(api, "lumen")

    original = await lookup(api, signed)
    assert (original["found"], original["found_by"]) == (True, "both")
    assert original["generation"]["id"] == gid
    assert original["generation"]["creator_handle"] == "lumen"
    assert original["generation"]["state"] == "published"
    assert original["c2pa"]["valid"] and not original["c2pa"]["trusted"]  # development chain
    assert original["watermark"]["false_positive_probability"] < 1e-6

    copy = stripped_half_size_copy(signed)
    assert b"c2pa" not in copy
    traced = await lookup(api, copy)
    assert (traced["found_by"], traced["generation"]["id"]) == ("watermark", gid)
    assert traced["c2pa"]["present"] is False
    assert traced["watermark"]["found"] and traced["watermark"]["confidence"] > 0.75

    await api.worker(take_down(api.container.app), UUID(gid))
    gone = await lookup(api, copy)
    assert gone["generation"]["state"] == "taken_down" and gone["generation"]["taken_down"]
    assert gone["generation"]["published"] is False


async def test_an_unmarked_video_has_no_provenance_and_says_how_sure_that_is(api: Api):
    unmarked = CODEC.encode_h264(panning_clip(data.coffee()), FPS, crf=20, preset="veryfast")
    answer = await lookup(api, unmarked)
    assert (answer["found"], answer["found_by"], answer["generation"]) == (False, "none", None)
    assert answer["message"].startswith("no provenance found")
    assert answer["watermark"]["found"] is False
    assert answer["watermark"]["false_positive_probability"] > 1e-6


async def test_what_is_not_a_video_gets_a_problem_with_a_stable_code(api: Api):
    garbage = await api.client.post("/provenance", content=b"\x00garbage" * 512,
                                    headers={"content-type": "video/mp4"})
    assert garbage.status_code == 422
    assert garbage.headers["content-type"].startswith("application/problem+json")
    assert garbage.json()["code"] == "unreadable-media"
    text = await api.client.post("/provenance", content=b"hello",
                                 headers={"content-type": "text/plain"})
    assert (text.status_code, text.json()["code"]) == (415, "unsupported-media")


async def test_lookups_beyond_the_rate_are_refused_per_client_without_a_key(api: Api):
    app = api.client._transport.app  # type: ignore[attr-defined]
    app.state["rate_limits"] = RateLimits(rules={"provenance": "2/minute"})
    answers = [await api.client.post("/provenance", content=b"x",
                                     headers={"content-type": "text/plain"})
               for _ in range(3)]
    assert [a.status_code for a in answers] == [415, 415, 429]
    assert answers[2].json()["code"] == "rate-limited" and answers[2].json()["retry_after"] > 0
    assert "authorization" not in {k.lower() for k in answers[2].request.headers}
