"""Journey 6: a member's feed shows only published videos that are still up, ranked for them
(friends and the people they follow first), moved by likes, each with its reasons; plus the
feed endpoints' refusals."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from domain.actors import SYSTEM, Actor
from domain.generation import Generation
from tests.e2e.conftest import Api
from tests.fakes import take_down


async def video(api: Api, token: str, prompt: str, cameos: tuple[str, ...] = (),
                publish: bool = True) -> str:
    made = await api.call("POST", "/generations", token, expect=201,
                          json={"prompt": prompt, "seconds": 5, "cameo_owner_ids": list(cameos)})
    if publish:
        await api.publish(made["generation_id"])
    return str(made["generation_id"])


def restrict(app: Any) -> Any:
    """What a reviewer's "restrict" decision does to a published video."""
    def run(actor: Actor, generation_id: UUID) -> None:
        generation = app.get(Generation, generation_id)
        generation.restrict(actor, uuid4(), "SENSITIVE")
        app.commit(generation)
    return run


async def feed_of(api: Api, token: str, **params: Any) -> list[dict[str, Any]]:
    page = await api.call("GET", "/feed", token, params=params)
    return list(page["items"])


async def test_a_members_feed_shows_only_live_videos_ranked_for_them(api: Api):
    ada, ada_token = await api.member("ada")
    bob, bob_token = await api.member("bob")
    cai, cai_token = await api.member("cai")
    _, dan_token = await api.member("dan")
    await api.call("POST", "/cameo/enable", bob_token, json={"permission": "everyone"})
    await api.call("POST", f"/members/{bob}/follow", ada_token)
    await api.call("POST", f"/members/{ada}/follow", bob_token)
    await api.call("POST", f"/members/{cai}/follow", ada_token)

    by_bob = await video(api, bob_token, "bob juggles oranges")
    by_cai = await video(api, cai_token, "cai paints a fence")
    with_bob = await video(api, dan_token, "bob surfs a wave", cameos=(bob,))
    taken_down = await video(api, dan_token, "a red kite")
    deleted = await video(api, dan_token, "a blue kite")
    restricted = await video(api, dan_token, "a green kite")
    draft = await video(api, dan_token, "a yellow kite", publish=False)
    newest = await video(api, dan_token, "a paper boat")
    app = api.container.app
    await api.worker(take_down(app), UUID(taken_down))
    await api.call("DELETE", f"/generations/{deleted}", dan_token)
    await api.worker(restrict(app), UUID(restricted))

    items = await feed_of(api, ada_token)

    assert [i["generation_id"] for i in items] == [by_bob, by_cai, with_bob, newest]
    assert [i["reasons"][0] for i in items] == ["mutual_creator", "followed_creator",
                                                "features_mutual", "recent"]
    assert [i["creator_handle"] for i in items] == ["bob", "cai", "dan", "dan"]
    assert all("recent" in i["reasons"] for i in items)
    assert {taken_down, deleted, restricted, draft}.isdisjoint(
        i["generation_id"] for i in await feed_of(api, bob_token, limit=200))


async def test_likes_move_a_video_up_and_withdrawing_them_moves_it_back(api: Api):
    _, viewer = await api.member("viewer", verified=False)
    _, maker_token = await api.member("maker")
    fans = [(await api.member(f"fan_{i}", verified=False))[1] for i in range(3)]
    older = await video(api, maker_token, "a calm lake at dawn")
    newer = await video(api, maker_token, "a busy street at noon")
    assert [i["generation_id"] for i in await feed_of(api, viewer)] == [newer, older]

    for fan in fans:
        assert (await api.call("POST", f"/generations/{older}/like", fan))["status"] == "liked"
    await api.call("POST", f"/generations/{older}/like", fans[0])  # twice: still one like

    items = await feed_of(api, viewer)
    assert [i["generation_id"] for i in items] == [older, newer]
    assert items[0]["likes"] == 3

    for fan in fans:
        await api.call("DELETE", f"/generations/{older}/like", fan)
    assert [i["generation_id"] for i in await feed_of(api, viewer)] == [newer, older]


async def test_completed_views_count_and_pages_follow_each_other(api: Api):
    _, viewer = await api.member("viewer", verified=False)
    _, maker = await api.member("maker")
    made = [await video(api, maker, f"scene number {n}") for n in range(5)]
    draft = await video(api, maker, "an unfinished scene", publish=False)
    for n in range(3):
        await api.call("POST", f"/feed/{made[0]}/views", viewer, expect=202,
                       headers={"Idempotency-Key": f"view-{n}"},
                       json={"watched_seconds": 5.0, "completed": True})
    await api.call("POST", f"/feed/{draft}/views", viewer, expect=404,
                   json={"watched_seconds": 1.0})

    whole = [i["generation_id"] for i in await feed_of(api, viewer)]
    assert whole[0] == made[0] and sorted(whole) == sorted(made)
    paged, cursor = [], None
    while True:
        page = await api.call("GET", "/feed", viewer,
                              params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        paged += [i["generation_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == whole


async def test_preferences_sink_a_creator_or_turn_personalisation_off(api: Api):
    viewer_id, viewer = await api.member("viewer", verified=False)
    tiresome_id, tiresome = await api.member("tiresome")
    _, other = await api.member("other")
    await api.call("POST", f"/members/{tiresome_id}/follow", viewer)
    theirs = await video(api, tiresome, "another unboxing")
    fresh = await video(api, other, "a new song")
    assert [i["generation_id"] for i in await feed_of(api, viewer)] == [theirs, fresh]

    saved = await api.call("PUT", "/feed/preferences", viewer,
                           json={"less_of": [tiresome_id]})
    assert saved == {"personalised": True, "less_of": [tiresome_id]}
    assert [i["generation_id"] for i in await feed_of(api, viewer)] == [fresh, theirs]

    await api.call("PUT", "/feed/preferences", viewer, json={"personalised": False})
    assert (await api.call("GET", "/feed/preferences", viewer))["personalised"] is False
    items = await feed_of(api, viewer)
    assert [i["generation_id"] for i in items] == [fresh, theirs]
    assert {tuple(i["reasons"]) for i in items} == {("personalisation_off",)}
    await api.call("PUT", "/feed/preferences", viewer, expect=422,
                   json={"less_of": [viewer_id]})


async def test_only_published_videos_one_can_see_can_be_liked(api: Api):
    _, author = await api.member("author")
    _, stranger = await api.member("stranger", verified=False)
    draft = await video(api, author, "a secret draft", publish=False)
    await api.call("POST", f"/generations/{draft}/like", stranger, expect=404)
    await api.call("POST", f"/generations/{draft}/like", author, expect=409)
    await api.call("POST", f"/generations/{uuid4()}/like", stranger, expect=404)
    assert (await api.call("DELETE", f"/generations/{draft}/like", stranger))["status"] == \
        "not liked"


FEED_ENDPOINTS = [
    ("GET", "/feed", None),
    ("POST", "/feed/{g}/views", {"watched_seconds": 1.0}),
    ("GET", "/feed/preferences", None),
    ("PUT", "/feed/preferences", {"personalised": False}),
    ("POST", "/generations/{g}/like", None),
    ("DELETE", "/generations/{g}/like", None),
]


async def test_feed_endpoints_need_a_member_credential(api: Api):
    _, maker = await api.member("maker")
    generation = await video(api, maker, "a lighthouse")
    holder = api.container.app.onboard_rights_holder(SYSTEM, "Studio", "proof-1")["secret"]
    for method, path, body in FEED_ENDPOINTS:
        url = path.format(g=generation)
        kwargs = {"json": body} if body is not None else {}
        denied = await api.call(method, url, expect=401, **kwargs)
        assert denied["code"] == "unauthenticated", (method, path)
        refused = await api.call(method, url, holder, expect=403, **kwargs)
        assert refused["code"] == "forbidden", (method, path)
        await api.call(method, url, "cs1.not-a-real.key.secret", expect=401, **kwargs)


async def test_a_revoked_key_or_a_suspension_stops_a_member_at_once(api: Api):
    """The feed's requests authenticate from the aggregate cache where it is the truth;
    revocation must still count from the moment the admin's request returns."""
    revoked_id, revoked = await api.member("revoked", verified=False)
    suspended_id, suspended = await api.member("suspended", verified=False)
    for token in (revoked, suspended):
        await api.call("GET", "/feed", token)  # authenticated once: cached from now on
    await api.call("DELETE", f"/admin/principals/{revoked_id}/keys/{revoked.split('.')[2]}",
                   api.admin)
    await api.call("POST", f"/admin/members/{suspended_id}/suspend", api.admin,
                   json={"reason": "spam"})
    assert (await api.call("GET", "/feed", revoked, expect=401))["code"] == "unauthenticated"
    assert (await api.call("GET", "/feed", suspended, expect=403))["code"] == "forbidden"
