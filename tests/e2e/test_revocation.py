"""Revocation → takedown over HTTP: withdrawing a consent takes down every video that
depends on it, other people's videos and remixes included, with the cause recorded."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.e2e.conftest import Api


async def until(api: Api, path: str, token: str, check: Any, timeout: float = 5.0) -> Any:
    """Polls a read endpoint until `check(body)` holds (the process runs asynchronously)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = await api.call("GET", path, token)
        if check(body) or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.05)


async def friends_video(api: Api) -> tuple[str, str, str, str, str]:
    ada, ada_token = await api.member("ada")
    bob, bob_token = await api.member("bob")
    await api.call("POST", "/cameo/enable", ada_token, json={"permission": "everyone"})
    made = await api.call("POST", "/generations", bob_token, expect=201,
                          json={"prompt": "ada juggles oranges", "seconds": 5,
                                "cameo_owner_ids": [ada]})
    await api.publish(made["generation_id"])
    return ada, ada_token, bob, bob_token, made["generation_id"]


async def test_disabling_a_cameo_takes_down_friends_videos_and_their_remixes(api: Api):
    _, ada_token, _, bob_token, video = await friends_video(api)
    _, cy_token = await api.member("cyd")
    remix = await api.call("POST", "/generations", cy_token, expect=201,
                           json={"prompt": "the same, but underwater", "seconds": 5,
                                 "remix_of": video})
    await api.publish(remix["generation_id"])

    await api.call("POST", "/cameo/disable", ada_token)

    body = await until(api, f"/generations/{video}", bob_token,
                       lambda b: b["state"] == "taken_down")
    assert body["state"] == "taken_down"
    assert body["takedown_cause"]["kind"] == "Cameo.Disabled"
    assert "CAMEO-ENABLED" in body["takedown_cause"]["rules"]
    remixed = await until(api, f"/generations/{remix['generation_id']}", cy_token,
                          lambda b: b["state"] == "taken_down")
    assert remixed["state"] == "taken_down"


async def test_blocking_one_person_takes_down_only_their_videos(api: Api):
    ada, ada_token, bob, bob_token, video = await friends_video(api)
    _, cy_token = await api.member("cyd")
    other = await api.call("POST", "/generations", cy_token, expect=201,
                           json={"prompt": "ada sings", "seconds": 5, "cameo_owner_ids": [ada]})
    await api.publish(other["generation_id"])

    await api.call("POST", "/cameo/blocks", ada_token, json={"member_id": bob})

    blocked = await until(api, f"/generations/{video}", bob_token,
                          lambda b: b["state"] == "taken_down")
    assert blocked["takedown_cause"]["rules"] == "CAMEO-PERMISSION"
    kept = await api.call("GET", f"/generations/{other['generation_id']}", cy_token)
    assert kept["state"] == "published"


async def test_withdrawing_an_approval_keeps_videos_the_permission_level_still_allows(api: Api):
    _, ada_token, bob, bob_token, video = await friends_video(api)  # ada: everyone
    await api.call("POST", "/cameo/approvals", ada_token, json={"member_id": bob})
    await api.call("DELETE", f"/cameo/approvals/{bob}", ada_token)
    await api.settled()  # the revocation process has seen the withdrawal
    still = await api.call("GET", f"/generations/{video}", bob_token)
    assert still["state"] == "published"
