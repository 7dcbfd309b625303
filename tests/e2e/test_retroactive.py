"""Retroactive scans over HTTP: a work registered after three videos used it (one named it in
its prompt, one only showed it, one did neither) finds the first two, and its match policy
decides what happens to them: taken down, a case each, or only listed. A member who verifies
after a video showed her face finds it through the face tracks the worker kept."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from domain.faces import generation_key
from domain.generation import Generation
from inference.generators import CompositeGenerator, LeakyGenerator
from tests import face_media
from tests.e2e.conftest import Api, LiveApi
from tests.e2e.takedown_helpers import publish_frames
from tests.e2e.test_journey_pipeline import bea, face_png, generate, verified_member, verify
from tests.e2e.test_journey_takedown import remix_frames
from tests.e2e.test_provenance import CODEC, FPS


def picture() -> np.ndarray:
    return np.ascontiguousarray(data.chelsea())  # the protected artwork: a cat, detailed


def still_clip(image: np.ndarray, frames: int = 48) -> np.ndarray:
    """The picture full frame (PDQ does not survive a crop of a tenth; it survives a
    change of aspect), brightening slowly."""
    still = np.asarray(Image.fromarray(image).resize((640, 360))).astype(np.int16)
    return np.stack([np.clip(still + t // 4, 0, 255).astype(np.uint8) for t in range(frames)])


def png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    return bytes(encoded)


async def run_scans(api: Api) -> list[dict[str, Any]]:
    return list((await api.call("POST", "/admin/retroactive-scans/run", api.admin))["items"])


@pytest.mark.parametrize("policy", ["block", "review", "track"])
async def test_a_work_registered_later_finds_the_videos_that_used_it(api: Api, policy: str):
    _, maker = await api.member("maker")
    by_prompt = await publish_frames(api, maker, "Whiskers McPurr naps on a sofa",
                                     remix_frames(seed=31))
    showing = CODEC.encode_h264(still_clip(picture()), FPS, crf=23, preset="veryfast")
    visually = await publish_frames(api, maker, "a calm afternoon at home", showing)
    neither = await publish_frames(api, maker, "a harbour at dusk", remix_frames(seed=32))

    onboarded = await api.call("POST", "/rights-holders", api.admin, expect=201,
                               json={"name": "Tabby Pictures", "proof": "registry-1"})
    studio = onboarded["secret"]
    work = await api.call("POST", "/works", studio, expect=201, json={
        "title": "Whiskers McPurr", "kind": "character", "aliases": ["Captain Whiskers"],
        "match_policy": policy})
    await run_scans(api)
    await api.call("POST", f"/works/{work['id']}/references", studio, expect=201,
                   content=png(picture()), headers={"content-type": "image/png"})
    await run_scans(api)

    scans = {s["trigger"].split(":")[0]: s for s in (await api.call(
        "GET", f"/works/{work['id']}/retroactive-scans", studio))["items"]}
    assert set(scans) == {"registered", "reference"}
    for scan in scans.values():
        assert scan["finished"] and scan["checked"] == scan["total"], scan
    # the second scan counts what was still published: a blocked video is not checked again
    assert (scans["registered"]["total"], scans["reference"]["total"]) == (
        3, 2 if policy == "block" else 3)
    [named] = scans["registered"]["matches"]
    [seen] = scans["reference"]["matches"]
    assert (named["generation_id"], named["method"]) == (by_prompt, "alias")
    assert (seen["generation_id"], seen["method"]) == (visually, "frames")
    assert named["action"] == seen["action"] == policy

    states = {gid: (await api.call("GET", f"/generations/{gid}", maker))["state"]
              for gid in (by_prompt, visually, neither)}
    cases = [c for c in (await api.call("GET", "/review/cases", api.admin))["items"]
             if c["subject_id"] in (by_prompt, visually)]
    if policy == "block":
        assert states == {by_prompt: "taken_down", visually: "taken_down",
                          neither: "published"}
        assert not cases
    else:
        assert set(states.values()) == {"published"}
        assert len(cases) == (2 if policy == "review" else 0)
    # resumable and done: running again changes nothing
    assert await run_scans(api) == []


async def test_a_member_verifying_after_a_video_showed_her_face_finds_it(live: LiveApi):
    """The worker's face scan of each video keeps its tracks' templates sealed under the
    video's key. Ada's generator leaked the face of someone nobody had verified (the video
    was published: an unknown face); Bea verifies later with that face, and her scan takes
    the video down, as the policy she chose says."""
    _, ada_token = await verified_member(live, "ada", face_media.astronaut(), seed=11)
    live.generator.inner = LeakyGenerator(CompositeGenerator(), face_png(bea()))
    leaked = await generate(live, ada_token, "a quiet walk in the forest", [])
    live.generator.inner = CompositeGenerator()
    plain = await generate(live, ada_token, "a lighthouse at dusk", [])
    assert leaked["state"] == plain["state"] == "published", (leaked, plain)

    bea_id, bea_token = await live.member("bea", verified=False)
    await live.call("PUT", "/identity/match-policy", bea_token, json={"policy": "block"})
    await verify(live, "bea", bea(), 12, "en-us", with_voice=False,
                 member=(bea_id, bea_token))
    await run_scans(live)

    scans = await live.call("GET", "/identity/retroactive-scans", bea_token)
    assert scans["match_policy"] == "block"
    [scan] = scans["items"]
    assert (scan["subject_kind"], scan["finished"], scan["checked"], scan["unchecked"]) == (
        "person", True, scan["total"], 0), scan
    assert [(m["generation_id"], m["method"], m["decision"], m["action"])
            for m in scan["matches"]] == [(leaked["id"], "face", "match", "block")]
    states = {gid: (await live.call("GET", f"/generations/{gid}", ada_token))["state"]
              for gid in (leaked["id"], plain["id"])}
    assert states == {leaked["id"]: "taken_down", plain["id"]: "published"}

    # what the worker kept is sealed under the video's key, and goes with the video
    scanned = [e for e in live.container.app.events.get(UUID(leaked["id"]))
               if isinstance(e, Generation.Scanned)]
    [kept] = scanned[0].sealed_tracks
    key = generation_key(UUID(leaked["id"]))
    assert live.container.vault.open(key, kept) is not None
    await live.call("DELETE", f"/generations/{leaked['id']}", ada_token)
    await live.settle()
    live.container.face_index.catch_up()
    assert live.container.key_store.get(key) is None
