"""Hostile uploads over HTTP: every endpoint that takes video (the public provenance lookup,
reference media, verification videos) answers each file of the hostile corpus with a 4xx
problem, stores nothing, and the API process's memory stays bounded (decoding happens in
the media intake's sandbox processes, capped on their own)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.media_intake import IntakeSettings, MediaIntake
from api.ratelimit import RateLimits
from domain.errors import MediaLimitsExceededError
from tests.e2e.conftest import Api
from tests.hostile_media import CORPUS, small_clip

# What the API process may grow by while it turns the whole corpus away, three times
# over, on every upload endpoint (the sandbox processes are capped separately, at
# IntakeSettings.memory_mb each).
API_PEAK_GROWTH_MB = 150


def rss_peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def reset_rss_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from now


def stored(api: Api) -> tuple[int, int]:
    blobs = Path(api.container.settings.data_dir) / "blobs"
    files = sum(1 for p in blobs.rglob("*") if p.is_file()) if blobs.exists() else 0
    return files, api.container.app.recorder.max_notification_id() or 0


async def targets(api: Api) -> list[tuple[str, str | None, Callable[[str], dict[str, str]]]]:
    """(endpoint, bearer token, headers for a content type) for each upload endpoint."""
    studio = (await api.call("POST", "/rights-holders", api.admin, expect=201,
                             json={"name": "Studio", "proof": "ref"}))["secret"]
    work = await api.call("POST", "/works", studio, expect=201,
                          json={"title": "Major Orbit", "kind": "character"})
    _, member = await api.member("ada", verified=False)
    challenge = await api.call("POST", "/identity/verifications", member, expect=201)

    def typed(media_type: str) -> dict[str, str]:
        return {"content-type": media_type}

    return [("/provenance", None, typed), ("/c2pa/v1/matches/byContent", None, typed),
            (f"/works/{work['id']}/references", studio, typed),
            (challenge["upload_to"], member, typed)]


# The verification upload reads the container from the bytes, not from Content-Type: a real
# WebM sent as video/mp4 is a WebM there (and is accepted), so that item is not hostile to it.
SNIFFS_CONTAINER = "/identity/verifications/"


async def test_every_upload_endpoint_refuses_the_hostile_corpus_and_stores_nothing(api: Api):
    api.client._transport.app.state["rate_limits"] = RateLimits(  # type: ignore[attr-defined]
        rules={"provenance": "1000/minute", "provenance-seconds": "100000/minute"})
    endpoints = await targets(api)
    corpus = [(name, build(), media_type, code) for name, build, media_type, code in CORPUS]
    before = stored(api)
    reset_rss_peak()
    baseline = rss_peak_mb()
    for _ in range(3):
        for path, token, headers in endpoints:
            for name, data, media_type, code in corpus:
                if code == "unsupported-media" and path.startswith(SNIFFS_CONTAINER):
                    continue
                refused = await api.call("POST", path, token, expect=(413, 415, 422),
                                         content=data, headers=headers(media_type))
                assert refused["code"] == code, (path, name, refused)
    assert stored(api) == before, "nothing stored, nothing recorded"
    assert rss_peak_mb() - baseline < API_PEAK_GROWTH_MB


async def test_the_check_page_refuses_the_corpus_in_words(api: Api):
    api.client._transport.app.state["rate_limits"] = RateLimits(  # type: ignore[attr-defined]
        rules={"provenance": "1000/minute", "provenance-seconds": "100000/minute"})
    before = stored(api)
    for name, build, media_type, _ in CORPUS:
        answer = await api.client.post("/provenance/check", files={
            "video": ("upload.mp4", build(), media_type)})
        assert answer.status_code in (413, 415, 422), (name, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html"), name
    assert stored(api) == before


async def test_a_file_that_crashes_its_sandbox_fails_alone(tmp_path: Path):
    intake = MediaIntake(IntakeSettings(workers=1))
    try:
        with pytest.raises(MediaLimitsExceededError, match="crashed its sandbox"):
            await intake.run(_crash, b"a file that kills its decoder")
        with pytest.raises(MediaLimitsExceededError):  # known bad: refused again, not run
            await intake.run(_crash, b"a file that kills its decoder")
        sample = await intake.sample(small_clip(), "video/mp4", _limits())
        assert sample.summary.frames == 24
    finally:
        intake.close()


async def test_a_refusal_is_remembered_under_its_own_limits_only():
    """A clip refused under narrow limits is refused again there without decoding, and
    decoded afresh where wider limits admit it."""
    narrow = dataclasses.replace(_limits(), max_side=32)
    intake = MediaIntake(IntakeSettings(workers=1))
    try:
        for _ in range(2):
            with pytest.raises(MediaLimitsExceededError):
                await intake.sample(small_clip(), "video/mp4", narrow)
        sample = await intake.sample(small_clip(), "video/mp4", _limits())
        assert sample.summary.frames == 24
    finally:
        intake.close()


async def test_a_file_over_its_sandboxs_time_is_refused(tmp_path: Path):
    intake = MediaIntake(IntakeSettings(workers=1, timeout_s=0.5))
    try:
        with pytest.raises(MediaLimitsExceededError, match="longer than"):
            await intake.run(_stall, b"a file that never finishes decoding")
    finally:
        intake.close()


def _crash(data: bytes) -> None:
    import os

    os.abort()  # what a decoder bug would do to its process


def _stall(data: bytes) -> None:
    while data:  # a decoder stuck on a file
        pass


def _limits() -> Any:
    from adapters.media_intake import PUBLIC_LIMITS

    return PUBLIC_LIMITS
