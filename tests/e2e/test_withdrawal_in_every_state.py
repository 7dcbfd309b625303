"""Withdrawing consent works for every person in every state: suspended, unverified and
held as a suspected duplicate, members can disable their cameo, withdraw approvals, block,
erase their biometric identity and close their account; a suspended member can do nothing
else."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.generation import Generation
from domain.identity import Identity
from domain.ids import identity_id
from tests.e2e.conftest import Api
from tests.fakes import WORKER
from tests.verification_media import placeholder_video


async def suspended(api: Api) -> str:
    member, token = await api.member("sus")
    await api.call("POST", "/cameo/enable", token, json={"permission": "everyone"})
    await api.call("POST", f"/admin/members/{member}/suspend", api.admin,
                   json={"reason": "spam"})
    return token


async def unverified(api: Api) -> str:
    _, token = await api.member("unv", verified=False)
    await api.call("POST", "/cameo/enable", token, json={"permission": "everyone"})
    return token


async def duplicate_suspected(api: Api) -> str:
    first, _ = await api.member("first")
    member, token = await api.member("dup", verified=False)
    challenge = await api.call("POST", "/identity/verifications", token, expect=201)
    await api.call("POST", challenge["upload_to"], token, content=placeholder_video("dup"),
                   headers={"content-type": "video/mp4"})
    api.container.app.complete_verification(  # as the worker would, on a look-alike
        WORKER, UUID(member), b"\x02" * 32, "test-model", 0.9, 0.9,
        duplicates=[(identity_id(UUID(first)), 0.5)])
    assert api.container.app.get(Identity, identity_id(UUID(member))).status == "held"
    await api.call("POST", "/cameo/enable", token, json={"permission": "everyone"})
    return token


@pytest.mark.parametrize("state", [suspended, unverified, duplicate_suspected],
                         ids=["suspended", "unverified", "duplicate-suspected"])
async def test_a_member_withdraws_consent_and_leaves_in_any_state(api: Api, state: object):
    friend, _ = await api.member("friend", verified=False)
    token = await state(api)  # type: ignore[operator]
    await api.call("POST", "/cameo/approvals", token, json={"member_id": friend},
                   expect=(200, 403))  # a suspended member may not approve anyone
    await api.call("DELETE", f"/cameo/approvals/{friend}", token)
    await api.call("POST", "/cameo/blocks", token, json={"member_id": friend})
    assert (await api.call("POST", "/cameo/disable", token))["status"] == "disabled"
    assert (await api.call("GET", "/cameo", token))["enabled"] is False
    await api.call("DELETE", "/identity", token)
    await api.call("DELETE", "/members/me", token)
    await api.call("GET", "/members/me", token, expect=401)  # every key went with it


async def test_a_suspended_member_can_do_nothing_but_withdraw(api: Api):
    token = await suspended(api)
    other, _ = await api.member("other", verified=False)
    for method, path, body in (("POST", f"/members/{other}/follow", None),
                               ("POST", "/cameo/enable", {"permission": "everyone"}),
                               ("POST", "/generations", {"prompt": "a cat", "seconds": 3})):
        refused = await api.call(method, path, token, json=body, expect=403)
        assert "suspended" in refused["detail"]


async def test_closing_an_account_takes_down_its_appearances_and_deletes_its_videos(api: Api):
    author, author_token = await api.member("author")
    owner, owner_token = await api.member("owner")
    await api.call("POST", "/cameo/enable", owner_token, json={"permission": "everyone"})
    featuring = (await api.call("POST", "/generations", author_token, expect=201, json={
        "prompt": "a walk", "seconds": 3, "cameo_owner_ids": [owner]}))["generation_id"]
    made = (await api.call("POST", "/generations", owner_token, expect=201, json={
        "prompt": "a sunset", "seconds": 3}))["generation_id"]
    for gid in (featuring, made):
        await api.publish(gid)

    await api.call("DELETE", "/members/me", owner_token)
    runner = api.client._transport.app.state["read_side"].runner  # type: ignore[attr-defined]
    app = api.container.app
    assert await runner.wait_for(app.recorder.max_notification_id())
    await runner.wait_for(app.recorder.max_notification_id())  # what the takedowns wrote

    assert app.get(Generation, UUID(featuring)).state == "taken_down"
    assert app.get(Generation, UUID(made)).state == "deleted"
    assert app.get(Identity, identity_id(UUID(owner))).erased
    await api.call("GET", "/members/me", owner_token, expect=401)
    assert (await api.call("GET", "/members/me", author_token))["id"] == author
