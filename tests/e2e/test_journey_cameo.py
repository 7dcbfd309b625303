"""Journey 2: invite, verification, a cameo for mutuals, a generation with two friends, a
stranger denied with CAMEO-PERMISSION, and the featured member deleting the video."""

from __future__ import annotations

from tests.e2e.conftest import Api


async def test_mutual_friends_make_a_video_together_and_a_stranger_is_denied(api: Api):
    ada, ada_token = await api.member("ada")
    bob, bob_token = await api.member("bob")
    _, eve_token = await api.member("eve")
    await api.call("POST", "/cameo/enable", ada_token, json={"permission": "mutuals"})
    await api.call("POST", "/cameo/enable", bob_token, json={"permission": "mutuals"})
    await api.call("POST", f"/members/{bob}/follow", ada_token)
    await api.call("POST", f"/members/{ada}/follow", bob_token)

    made = await api.call("POST", "/generations", bob_token, expect=201,
                          json={"prompt": "ada and bob ride bikes by the sea", "seconds": 8,
                                "cameo_owner_ids": [ada, bob]})
    assert made["outcome"] == "allow"

    denied = await api.call("POST", "/generations", eve_token, expect=403,
                            json={"prompt": "ada dancing", "seconds": 5,
                                  "cameo_owner_ids": [ada]})
    assert denied["code"] == "generation-denied"
    assert denied["rule_codes"] == ["CAMEO-PERMISSION"]
    permission = next(r for r in denied["trace"] if r["code"] == "CAMEO-PERMISSION")
    assert permission["evidence"]["cameos"] == [{"owner": ada, "outcome": "fail"}]

    await api.publish(made["generation_id"])
    featuring = await api.call("GET", "/cameo/appearances", ada_token)
    assert [g["id"] for g in featuring["items"]] == [made["generation_id"]]
    assert featuring["items"][0]["state"] == "published"

    await api.call("DELETE", f"/cameo/appearances/{made['generation_id']}", ada_token)
    status = await api.call("GET", f"/generations/{made['generation_id']}", bob_token)
    assert status["state"] == "deleted"


async def test_a_retried_post_with_the_same_idempotency_key_changes_nothing_more(api: Api):
    _, token = await api.member("cai")
    headers = {"Idempotency-Key": "k-1"}
    first = await api.call("POST", "/generations", token, headers=headers,
                           json={"prompt": "a lighthouse", "seconds": 5})
    again = await api.call("POST", "/generations", token, headers=headers,
                           json={"prompt": "a lighthouse", "seconds": 5})
    assert again == first
    mine = await api.call("GET", "/generations/mine", token)
    assert len(mine["items"]) == 1
