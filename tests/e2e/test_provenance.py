"""Journey 5: anyone uploads a published video, or a re-encoded, downscaled, mirrored, cropped
or rotated copy of it with the metadata gone, and learns which generation made it, whether it
is still published and what its manifest discloses; through the JSON lookup, the C2PA Soft
Binding Resolution API and the check page. The video is made here as the worker would:
serial, invisible mark, H.264, C2PA signature, published file in the blob store."""

from __future__ import annotations

import base64
import datetime
import math
from typing import Any
from uuid import UUID, uuid4

import cv2
import numpy as np
from PIL import Image
from skimage import data

from adapters.video_io import PyAvVideoCodec
from api.ratelimit import RateLimits
from domain.provenance import ProvenanceClaim
from inference.perceptual import hash_frames
from inference.visible_mark import MovingOverlayMarker
from tests.e2e.conftest import Api
from tests.fakes import findings, take_down

FPS = 24.0
CODEC = PyAvVideoCodec()
MADE = datetime.datetime(2026, 11, 30, 18, 5, tzinfo=datetime.UTC)


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
    marked = MovingOverlayMarker().apply(marked, handle, FPS)  # as the worker does
    mp4 = CODEC.encode_h264(marked, FPS, crf=20, preset="veryfast")
    claim = ProvenanceClaim(str(gid), serial, created_at=MADE, system="composite-v1",
                            extra={"creator": handle})
    signed = c.signer.sign_bytes(mp4, claim)
    digest = c.blobs.put(signed, "video/mp4")
    await api.worker(app.record_watermark, gid, serial.hex(), digest, digest)
    await api.worker(app.publish_generation, gid)
    return str(gid), signed


async def lookup(api: Api, video: bytes, media_type: str = "video/mp4",
                 expect: int = 200) -> Any:
    return await api.call("POST", "/provenance", content=video, expect=expect,
                          headers={"content-type": media_type})


def reuploaded_copy(mp4: bytes) -> bytes:
    """What a re-uploader makes: mirrored, cropped to 80% off-centre, rotated 3 degrees
    (zoomed to fill) and encoded again at CRF 28: a new file with no manifest."""
    frames = CODEC.decode(mp4).frames[:, :, ::-1]
    height, width = frames.shape[1:3]
    top, left = round(height * 0.2 * 0.8), round(width * 0.2 * 0.1)
    angle = math.radians(3)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 3,
                                     math.cos(angle) + width / height * math.sin(angle))
    edited = np.stack([
        cv2.warpAffine(cv2.resize(f[top : top + round(height * 0.8),
                                    left : left + round(width * 0.8)], (width, height)),
                       matrix, (width, height)) for f in frames])
    return CODEC.encode_h264(edited, FPS, crf=28, preset="veryfast")


def mirrored_copy(mp4: bytes) -> bytes:
    """Mirrored left-right and encoded again at CRF 28."""
    return CODEC.encode_h264(CODEC.decode(mp4).frames[:, :, ::-1], FPS, crf=28,
                             preset="veryfast")


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
    assert original["disclosure"]["source"] == "file"
    assert original["visible_mark"]["state"] == "readable"
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


async def test_a_mirrored_cropped_rotated_reencoded_copy_names_its_generation_and_disclosure(
        api: Api):
    gid, signed = await published_video(api, "orla")
    original = await lookup(api, signed)

    copy = reuploaded_copy(signed)
    assert b"c2pa" not in copy
    traced = await lookup(api, copy)

    assert (traced["found_by"], traced["generation"]["id"]) == ("watermark", gid)
    assert traced["watermark"]["false_positive_probability"] < 1e-6
    disclosure = traced["disclosure"]
    assert disclosure["source"] == "published"
    assert {k: v for k, v in disclosure.items() if k != "source"} == \
        {k: v for k, v in original["disclosure"].items() if k != "source"}
    assert disclosure["ai_generated"] is True
    assert disclosure["manifest_id"] == f"urn:c2pa:{gid}"
    assert (disclosure["system_name"], disclosure["created_at"]) == (
        "composite-v1", "2026-11-30T18:05:00Z")
    assert disclosure["provider"] and disclosure["system_version"]
    # This short copy's crop cut away the corner the visible mark was crossing: said so.
    assert traced["visible_mark"]["state"] in ("missing", "badge")

    # Mirrored only: the handle reads backwards, the "AI" badge does not; the lookup says so.
    mirrored = await lookup(api, mirrored_copy(signed))
    assert mirrored["generation"]["id"] == gid
    assert mirrored["visible_mark"]["state"] == "mirrored"


async def test_the_soft_binding_resolution_api_resolves_the_watermark_to_the_manifest(
        api: Api):
    gid, signed = await published_video(api, "sable")
    serial = bytes.fromhex((await lookup(api, signed))["watermark"]["payload"])
    alg = (await api.call("GET", "/c2pa/v1/services/supportedAlgorithms"))["watermarks"][0][
        "alg"]
    assert alg == "com.consentry.watermark.dct-ss.v2"
    value = base64.b64encode(serial).decode()

    by_get = await api.call("GET", "/c2pa/v1/matches/byBinding",
                            params={"alg": alg, "value": value})
    by_post = await api.call("POST", "/c2pa/v1/matches/byBinding", json={"alg": alg,
                                                                          "value": value})
    assert by_get == by_post == {"matches": [{"manifestId": f"urn:c2pa:{gid}",
                                              "similarityScore": 100}]}
    by_content = await api.call("POST", "/c2pa/v1/matches/byContent",
                                content=reuploaded_copy(signed),
                                headers={"content-type": "video/mp4"})
    assert [m["manifestId"] for m in by_content["matches"]] == [f"urn:c2pa:{gid}"]

    store = await api.client.get(f"/c2pa/v1/manifests/urn:c2pa:{gid}")
    assert store.status_code == 200
    assert store.headers["content-type"].startswith("application/c2pa")
    assert store.content[4:8] == b"jumb" and store.content in signed


async def test_the_resolution_api_answers_unknown_bindings_and_bad_queries_in_its_terms(
        api: Api):
    alg = "com.consentry.watermark.dct-ss.v2"
    nothing = await api.call("GET", "/c2pa/v1/matches/byBinding",
                             params={"alg": alg, "value": base64.b64encode(bytes(6)).decode()})
    assert nothing == {"matches": []}
    for params in ({"alg": "com.adobe.trustmark.P", "value": "AAAAAAAA"},
                   {"alg": alg, "value": "not base64!"}, {"alg": alg, "value": "AAAA"}):
        bad = await api.client.get("/c2pa/v1/matches/byBinding", params=params)
        assert bad.status_code == 400
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["code"] == "invalid-soft-binding-query"
    missing = await api.client.get(f"/c2pa/v1/manifests/urn:c2pa:{uuid4()}")
    assert missing.status_code == 404
    malformed = await api.client.get("/c2pa/v1/manifests/urn:c2pa:nope")
    assert malformed.status_code == 400


async def test_the_check_page_answers_an_upload_in_words(api: Api):
    gid, signed = await published_video(api, "wren")
    form = await api.client.get("/provenance/check")
    assert form.status_code == 200 and form.headers["content-type"].startswith("text/html")
    assert "multipart/form-data" in form.text

    answer = await api.client.post("/provenance/check", files={
        "video": ("copy.mp4", mirrored_copy(signed), "video/mp4")})
    assert answer.status_code == 200
    assert "Yes: this video was made here with AI, by @wren" in answer.text
    assert "It is published." in answer.text
    assert f"urn:c2pa:{gid}" in answer.text
    assert "lost its manifest" in answer.text
    assert "visible mark is in the picture but mirrored" in answer.text

    text = await api.client.post("/provenance/check", files={
        "video": ("notes.txt", b"hello", "text/plain")})
    assert text.status_code == 415 and "We could not check this file." in text.text
