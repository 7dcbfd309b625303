"""Costs bounded at the door: hostile JSON on every POST, weighted rate limits with
Retry-After, forwarded headers believed only from configured proxies (real `consentry
serve` processes), lookalike letters in prompts and titles, and a registration whose
response was lost."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.ratelimit import RateLimits
from tests.e2e.conftest import Api
from tests.e2e.test_two_api_processes import Server, start, stop
from tests.hostile_media import small_clip

DEEP = b"[" * 5000 + b"]" * 5000
HUGE = b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}'


def json_posts(api: Api) -> list[str]:
    """Every POST route that takes a JSON body, with its path parameters filled in."""
    schema = api.client._transport.app.openapi_schema.to_schema()  # type: ignore[attr-defined]
    paths = []
    for path, item in schema["paths"].items():
        body = item.get("post", {}).get("requestBody", {}).get("content", {})
        if "application/json" in body:
            paths.append(re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path))
    return paths


async def test_deep_and_huge_json_on_every_post_is_refused_with_400_or_413(api: Api):
    posts = json_posts(api)
    assert len(posts) >= 20
    for path in posts:
        for body, status, code in ((DEEP, 400, "body-too-deep"),
                                   (HUGE, 413, "body-too-large")):
            response = await api.client.post(path, content=body, headers={
                **api.auth(api.admin), "content-type": "application/json"})
            assert response.status_code == status, (path, response.text[:200])
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["code"] == code, path


async def test_lookups_are_charged_by_the_seconds_they_decode(api: Api):
    app = api.client._transport.app  # type: ignore[attr-defined]
    app.state["rate_limits"] = RateLimits(rules={"provenance-seconds": "3/minute"})
    clip = small_clip()  # two seconds of video
    for _ in range(2):
        await api.call("POST", "/provenance", content=clip,
                       headers={"content-type": "video/mp4"})
    refused = await api.client.post("/provenance", content=clip,
                                    headers={"content-type": "video/mp4"})
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate-limited"
    assert int(refused.headers["Retry-After"]) >= 1


async def test_lookalike_letters_do_not_get_a_prompt_past_a_registered_title(api: Api):
    _, member = await api.member("ada")
    studio = (await api.call("POST", "/rights-holders", api.admin, expect=201,
                             json={"name": "Studio", "proof": "ref"}))["secret"]
    await api.call("POST", "/works", studio, expect=201,
                   json={"title": "Zorblax", "kind": "character"})
    await api.call("POST", "/works", studio, expect=201,  # a title with a Cyrillic o and x
                   json={"title": "Qu\u043ent\u0445", "kind": "character"})
    for prompt in ("Z\u043erblax dances", "Z\u043erbl\u0430\u0445 dances", "quontx sings"):
        denied = await api.call("POST", "/generations", member, expect=403,
                                json={"prompt": prompt, "seconds": 3})
        assert denied["rule_codes"] == ["WORK-LICENSED"], prompt


async def test_a_registration_whose_response_was_lost_returns_the_same_key(api: Api):
    codes = (await api.call("POST", "/members/me/invites", api.admin,
                            json={"count": 1}))["codes"]
    body = {"invite_code": codes[0], "handle": "lostkey"}
    headers = {"Idempotency-Key": "register-once"}
    first = await api.call("POST", "/members", json=body, headers=headers, expect=201)
    again = await api.call("POST", "/members", json=body, headers=headers, expect=201)
    assert again["secret"] == first["secret"] and again["member_id"] == first["member_id"]
    await api.call("GET", "/members/me", again["secret"])


@pytest.fixture
def servers(tmp_path: Path) -> Any:
    """A `consentry serve` that trusts no proxy, and one that trusts loopback."""
    started: list[Server] = []

    def launch(trusted: str) -> Server:
        # Rate limits in the process's memory (no Redis): each server counts on its own.
        server = start({"CONSENTRY_STORE": "memory", "CONSENTRY_DATA_DIR": str(tmp_path),
                        "CONSENTRY_TRUSTED_PROXIES": trusted, "CONSENTRY_REDIS_URL": ""},
                       tmp_path / f"serve-{len(started)}.log")
        started.append(server)
        return server

    yield launch
    for server in started:
        stop(server)


@pytest.mark.e2e
def test_forwarded_addresses_are_believed_only_from_a_configured_proxy(servers: Any):
    def lookups(server: Server) -> list[int]:
        return [httpx.post(f"{server.url}/provenance", content=b"not a video",
                           headers={"content-type": "video/mp4",
                                    "X-Forwarded-For": f"203.0.113.{i}"}).status_code
                for i in range(21)]

    direct = lookups(servers(""))
    assert direct[:20] == [422] * 20 and direct[20] == 429  # one quota, whatever it claims
    behind_proxy = lookups(servers("127.0.0.1"))
    assert 429 not in behind_proxy  # each forwarded client has its own quota
