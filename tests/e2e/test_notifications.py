"""Members' inbox: appearances in drafts and published videos, a takedown with its cause,
a review outcome, a strike (and its withdrawal on appeal) and verification results arrive
from the log, newest first, with a read marker that only moves forward (on the embedded
store and on PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Api
from tests.e2e.review_helpers import staff
from tests.e2e.takedown_helpers import file_request
from tests.e2e.test_journey_review import enrol, held

pytestmark = pytest.mark.e2e


async def inbox(api: Api, token: str, **params: Any) -> Any:
    return await api.call("GET", "/members/me/notifications", token, params=params)


async def bea_in_adas_video(api: Api) -> tuple[str, str, str, str, str]:
    """Ada publishes a video with Bea's cameo: (ada, her key, bea, her key, the video)."""
    ada, ada_token = await api.member("ada")
    bea, bea_token = await api.member("bea")
    await api.call("POST", "/cameo/enable", bea_token, json={"permission": "everyone"})
    made = await api.call("POST", "/generations", ada_token, expect=201, json={
        "prompt": "two friends at the beach", "seconds": 3, "cameo_owner_ids": [bea]})
    await api.publish(made["generation_id"])
    return ada, ada_token, bea, bea_token, made["generation_id"]


async def test_a_member_is_told_of_appearances_takedowns_reviews_and_verification(api: Api):
    ada, ada_token, _, bea_token, gid = await bea_in_adas_video(api)

    page = await inbox(api, bea_token)
    kinds = [(n["kind"], n["data"].get("stage") or n["data"].get("result")) for n in page["items"]]
    assert kinds == [("appearance", "published"), ("appearance", "draft"),
                     ("verification", "verified")]
    assert page["items"][1]["data"] == {"generation_id": gid, "stage": "draft",
                                        "by_member_id": ada, "by_handle": "ada"}
    assert page["unread_count"] == 3 and page["read_up_to"] == 0

    # bea withdraws her cameo: the revocation process takes ada's video down
    await api.call("POST", "/cameo/disable", bea_token)
    runner = api.client._transport.app.state["read_side"].runner  # type: ignore[attr-defined]
    await runner.wait_for(api.container.app.recorder.max_notification_id() or 0)
    ada_page = await inbox(api, ada_token)
    assert ada_page["items"][0]["kind"] == "taken_down", ada_page
    assert ada_page["items"][0]["data"]["generation_id"] == gid
    assert ada_page["items"][0]["data"]["cause"]["kind"] == "Cameo.Disabled"

    # reading moves the marker; an older marker does not move it back
    newest = page["items"][0]["id"]
    marked = await api.call("POST", "/members/me/notifications/read", bea_token,
                            json={"up_to": page["items"][1]["id"]})
    assert marked == {"read_up_to": page["items"][1]["id"], "unread_count": 1}
    marked = await api.call("POST", "/members/me/notifications/read", bea_token, json={})
    assert marked["read_up_to"] == newest and marked["unread_count"] == 0
    await api.call("POST", "/members/me/notifications/read", bea_token,
                   json={"up_to": page["items"][2]["id"]})
    again = await inbox(api, bea_token, limit=2)
    assert again["read_up_to"] == newest and all(n["read"] for n in again["items"])
    assert again["next_cursor"]
    rest = await inbox(api, bea_token, cursor=again["next_cursor"])
    assert [n["kind"] for n in rest["items"]] == ["verification"]


async def test_the_author_hears_the_review_outcome(api: Api):
    _, ada = await api.member("ada")
    _, reviewer = await enrol(api, "reviewer one")
    _, case_id = await held(api, ada, "a harbour at dusk with fireworks", "high")
    await api.call("POST", f"/review/cases/{case_id}/claim", reviewer)
    await api.call("POST", f"/review/cases/{case_id}/decision", reviewer,
                   json={"decision": "remove", "policy_code": "SAFETY-1"})

    items = (await inbox(api, ada))["items"]
    outcome = next(n for n in items if n["kind"] == "review_outcome")
    assert outcome["data"]["case_id"] == case_id
    assert (outcome["data"]["decision"], outcome["data"]["appeal"]) == ("remove", False)
    # a removal under a grave code (severity 3, the default strike threshold) is a strike
    [strike] = [n for n in items if n["kind"] == "strike"]
    assert strike["data"]["case_id"] == case_id and strike["data"]["state"] == "added"
    assert strike["data"]["policy_code"] == "SAFETY-1" and strike["data"]["expires_at"]

    # overturned on appeal by another reviewer: the strike is withdrawn, and she is told
    _, second = await staff(api, "reviewer two")
    await api.call("POST", f"/review/cases/{case_id}/appeal", ada,
                   json={"text": "that was fireworks"})
    await api.call("POST", f"/review/cases/{case_id}/claim", second)
    await api.call("POST", f"/review/cases/{case_id}/appeal-decision", second,
                   json={"decision": "approve", "policy_code": "OK-1"})
    items = (await inbox(api, ada))["items"]
    assert [(n["kind"], n["data"].get("state") or n["data"].get("appeal")) for n in items[:2]] \
        == [("strike", "withdrawn"), ("review_outcome", True)]
    assert items[0]["data"] == {"case_id": case_id, "state": "withdrawn"}


async def test_the_people_in_a_video_hear_of_an_intimate_imagery_request_about_it(api: Api):
    _, ada_token, _, bea_token, gid = await bea_in_adas_video(api)

    filed = await file_request(api, gid)
    page = await inbox(api, bea_token)
    told = [n for n in page["items"] if n["kind"] == "takedown_request"]
    assert [n["data"]["reference"] for n in told] == [filed["reference"]]
    assert told[0]["data"]["generation_id"] == gid
    assert told[0]["data"]["category"] == "intimate_imagery" and told[0]["data"]["deadline"]
    other = await file_request(api, gid, category="copyright")
    again = await inbox(api, bea_token)
    assert other["reference"] not in [n["data"].get("reference") for n in again["items"]]
    # ada asked for the video; she is not in it, and hears of it when it is actioned
    assert "takedown_request" not in [n["kind"] for n in (await inbox(api, ada_token))["items"]]
