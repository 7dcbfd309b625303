"""Consent holds at the seams, over HTTP with the worker running (dlib face scan, PDQ work
scan, watermark): each journey below published (or left up) what it should not before the
Generation lifecycle, the log followers and the featured sets were made one."""

from __future__ import annotations

from typing import Any

from domain.generator import RenderedClip, RenderRequest
from inference.generators import CompositeGenerator, LeakyGenerator
from tests import face_media
from tests.e2e.conftest import LiveApi
from tests.e2e.test_journey_pipeline import (
    face_png,
    generate,
    group_member,
    mutual_cameos,
    verified_member,
)
from tests.work_media import clip, filled, photo, png


async def studio(live: LiveApi, name: str = "Studio") -> str:
    onboarded = await live.call("POST", "/rights-holders", live.admin, expect=201,
                                json={"name": name, "proof": "registry extract"})
    return str(onboarded["secret"])


async def work(live: LiveApi, holder: str, title: str, aliases: list[str],
               kind: str = "character", **grant: Any) -> tuple[str, str | None]:
    made = await live.call("POST", "/works", holder, expect=201,
                           json={"title": title, "kind": kind, "aliases": aliases})
    grant_id = None
    if grant:
        grant_id = (await live.call("POST", f"/works/{made['id']}/grants", holder,
                                    expect=201, json=grant))["id"]
    return made["id"], grant_id


async def state(live: LiveApi, token: str, generation_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await live.call("GET", f"/generations/{generation_id}", token)
    return found


async def mutuals(live: LiveApi, member: str, token: str,
                  *others: tuple[str, str]) -> None:
    for other, other_token in others:
        await live.call("POST", f"/members/{other}/follow", token)
        await live.call("POST", f"/members/{member}/follow", other_token)


async def remix(live: LiveApi, token: str, source: str, prompt: str) -> dict[str, Any]:
    requested = await live.call("POST", "/generations", token, expect=201,
                                json={"prompt": prompt, "seconds": 3, "remix_of": source})
    await live.settle()
    return await state(live, token, requested["generation_id"])


class ShowsPicture:
    """A generator whose clip shows a picture over the whole frame (the work scan's worst
    case: a protected work the prompt never named)."""

    name = "shows-picture-test"

    def __init__(self, picture: Any) -> None:
        self.picture = picture

    def render(self, request: RenderRequest) -> RenderedClip:
        mp4 = clip([(filled(self.picture, (request.width, request.height)),
                     float(request.seconds))], fps=request.fps)
        frames = round(request.seconds * request.fps)
        return RenderedClip(mp4, frames, frames / request.fps, request.width,
                            request.height, self.name)


async def test_a_withdrawn_work_takes_its_videos_down_and_is_denied_from_then_on(
        live: LiveApi):
    _, ada_token = await verified_member(live, "ada", face_media.astronaut(), seed=11)
    holder = await studio(live)
    marlowe, _ = await work(live, holder, "Captain Marlowe", ["marlowe"],
                            audience="everyone")
    video = await generate(live, ada_token, "captain marlowe on a ship", [])
    assert video["state"] == "published", video

    await live.call("POST", f"/works/{marlowe}/withdraw", holder)
    await live.settle()

    assert (await state(live, ada_token, video["id"]))["state"] == "taken_down"
    denied = await live.call("POST", "/generations", ada_token, expect=403,
                             json={"prompt": "captain marlowe on a ship", "seconds": 3})
    assert denied["rule_codes"] == ["WORK-LICENSED"]
    [licensed] = [r for r in denied["trace"] if r["code"] == "WORK-LICENSED"]
    assert licensed["evidence"]["works"][0]["reason"] == "withdrawn"


async def test_remixes_carry_her_cameo_and_her_block_takes_them_down(live: LiveApi):
    ada, ada_token, bea, bea_token = await mutual_cameos(live)
    cy, cy_token = await verified_member(live, "cyd", group_member(2), seed=21)
    await mutuals(live, cy, cy_token, (ada, ada_token), (bea, bea_token))
    source = await generate(live, ada_token, "two friends on a sunny beach", [ada, bea])
    assert source["state"] == "published", source

    first = await remix(live, cy_token, source["id"], "the same beach at night")
    assert first["state"] == "published", first
    assert set(first["featured_member_ids"]) == {ada, bea}
    second = await remix(live, ada_token, first["id"], "in the rain")
    assert second["state"] == "published", second
    assert set(second["featured_member_ids"]) == {ada, bea}

    appearances = await live.call("GET", "/cameo/appearances", bea_token)
    assert {first["id"], second["id"]} <= {item["id"] for item in appearances["items"]}

    await live.call("POST", "/cameo/blocks", bea_token, json={"member_id": cy})
    await live.settle()
    assert (await state(live, bea_token, first["id"]))["state"] == "taken_down"
    assert (await state(live, bea_token, second["id"]))["state"] == "taken_down"
    assert (await state(live, bea_token, source["id"]))["state"] == "published"


async def test_she_deletes_a_remix_of_a_remix_that_shows_her(live: LiveApi):
    ada, ada_token, bea, bea_token = await mutual_cameos(live)
    cy, cy_token = await verified_member(live, "cyd", group_member(2), seed=23)
    await mutuals(live, cy, cy_token, (ada, ada_token), (bea, bea_token))
    source = await generate(live, ada_token, "two friends on a sunny beach", [ada, bea])
    first = await remix(live, cy_token, source["id"], "at night")
    second = await remix(live, cy_token, first["id"], "in the snow")
    assert second["state"] == "published", second

    await live.call("DELETE", f"/cameo/appearances/{second['id']}", bea_token)
    await live.settle()
    assert (await state(live, cy_token, second["id"]))["state"] == "deleted"


async def test_a_broken_mutual_follow_takes_down_the_remix_it_allowed(live: LiveApi):
    ada, ada_token, bea, bea_token = await mutual_cameos(live)
    cy, cy_token = await verified_member(live, "cyd", group_member(2), seed=23)
    await mutuals(live, cy, cy_token, (ada, ada_token), (bea, bea_token))
    source = await generate(live, ada_token, "two friends on a sunny beach", [ada, bea])
    made = await remix(live, cy_token, source["id"], "at night")
    assert made["state"] == "published", made

    await live.call("DELETE", f"/members/{cy}/follow", bea_token)
    await live.settle()
    after = await state(live, bea_token, made["id"])
    assert after["state"] == "taken_down"
    assert "REMIX-CONSENT" in after["takedown_cause"]["rules"]


async def test_a_grant_amended_to_drop_remix_takes_the_remix_down(live: LiveApi):
    _, ada_token = await verified_member(live, "ada", face_media.astronaut(), seed=12)
    _, cy_token = await verified_member(live, "cyd", group_member(2), seed=24)
    holder = await studio(live)
    _, grant = await work(live, holder, "Comet the Dog", ["comet the dog"], audience="everyone",
                          uses=["generate", "remix"])
    source = await generate(live, ada_token, "comet the dog runs on a beach", [])
    made = await remix(live, cy_token, source["id"], "at night")
    assert made["state"] == "published", made

    await live.call("POST", f"/grants/{grant}/amend", holder,
                    json={"audience": "everyone", "uses": ["generate"]})
    await live.settle()
    assert (await state(live, cy_token, made["id"]))["state"] == "taken_down"
    assert (await state(live, ada_token, source["id"]))["state"] == "published"


async def test_a_work_seen_only_in_the_frames_is_in_its_usage_and_its_grant_governs_it(
        live: LiveApi):
    _, ada_token = await verified_member(live, "ada", face_media.astronaut(), seed=13)
    holder = await studio(live)
    rocket = photo("rocket")
    poster, grant = await work(live, holder, "Rocket Launch Poster", ["rocket poster"],
                               kind="artwork", audience="everyone")
    reference = await live.call("POST", f"/works/{poster}/references", holder, expect=201,
                                content=png(rocket), headers={"content-type": "image/png"})
    assert reference["visual_matching"] == "indexed"
    live.generator.inner = ShowsPicture(rocket)

    video = await generate(live, ada_token, "a quiet evening", [])
    assert video["state"] == "published", video
    assert poster in video["featured_work_ids"]
    usage = await live.call("GET", f"/works/{poster}/usage", holder)
    assert [(u["generation_id"], u["found_in_frames"]) for u in usage["items"]] == [
        (video["id"], True)]

    await live.call("POST", f"/grants/{grant}/revoke", holder, json={"reason": "ended"})
    await live.settle()
    assert (await state(live, ada_token, video["id"]))["state"] == "taken_down"


async def test_a_withdrawn_work_seen_only_in_the_frames_is_not_published(live: LiveApi):
    _, ada_token = await verified_member(live, "ada", face_media.astronaut(), seed=15)
    holder = await studio(live)
    rocket = photo("rocket")
    poster, _ = await work(live, holder, "Rocket Launch Poster", ["rocket poster"],
                           kind="artwork", audience="everyone")
    await live.call("POST", f"/works/{poster}/references", holder, expect=201,
                    content=png(rocket), headers={"content-type": "image/png"})
    await live.call("POST", f"/works/{poster}/withdraw", holder,
                    json={"reason": "the poster is retired"})
    live.generator.inner = ShowsPicture(rocket)

    video = await generate(live, ada_token, "a quiet evening", [])
    assert video["state"] != "published", video
    assert poster in video["featured_work_ids"]


async def test_consent_that_now_needs_a_person_takes_the_video_out_of_the_feed_with_a_case(
        live: LiveApi):
    ada, ada_token, bea, bea_token = await mutual_cameos(live)
    video = await generate(live, ada_token, "friends at a knife throwing show", [ada, bea])
    assert video["state"] == "published", video

    # bea forbids violence; "knife" only might be violence: a person decides
    await live.call("POST", "/cameo/restrictions", bea_token,
                    json={"forbidden_categories": ["violence"], "instructions": ""})
    await live.settle()

    held = await state(live, ada_token, video["id"])
    assert held["state"] == "held", held
    assert held["hold_cause"]["kind"] == "Cameo.RestrictionsSet"
    feed = await live.call("GET", "/feed", bea_token)
    assert video["id"] not in [item["generation_id"] for item in feed["items"]]
    reviewer = (await live.call("POST", "/admin/staff", live.admin, expect=201,
                                json={"name": "rita", "role": "reviewer"}))["secret"]
    cases = await live.call("GET", "/review/cases", reviewer)
    [case] = [c for c in cases["items"] if c["subject_id"] == video["id"]]
    assert "CAMEO-RESTRICTIONS" in case["reason"]


async def test_cameo_instructions_send_the_request_to_a_person_who_reads_them(live: LiveApi):
    ada, ada_token, bea, bea_token = await mutual_cameos(live)
    await live.call("POST", "/cameo/restrictions", bea_token,
                    json={"forbidden_categories": [],
                          "instructions": "Never show me eating meat"})

    requested = await live.call("POST", "/generations", ada_token, expect=202,
                                json={"prompt": "bea eats a huge steak", "seconds": 3,
                                      "cameo_owner_ids": [ada, bea]})
    await live.settle()
    video = await state(live, ada_token, requested["generation_id"])
    assert video["state"] == "held" and video["published_at"] is None, video
    reviewer = (await live.call("POST", "/admin/staff", live.admin, expect=201,
                                json={"name": "rita", "role": "reviewer"}))["secret"]
    [case] = (await live.call("GET", "/review/cases", reviewer))["items"]
    detail = await live.call("GET", f"/review/cases/{case['id']}", reviewer)
    [restrictions] = [r for r in detail["evidence"]["trace"]
                      if r["code"] == "CAMEO-RESTRICTIONS"]
    quoted = [c["instructions"]["text"] for c in restrictions["evidence"]["cameos"]
              if "instructions" in c]
    assert quoted == ["Never show me eating meat"]


async def test_a_public_figures_face_is_blocked_though_the_prompt_never_named_them(
        live: LiveApi):
    _, ada_token = await verified_member(live, "ada", face_media.astronaut(), seed=14)
    holder = await studio(live, "Estate of Grace Hopper")
    figure, _ = await work(live, holder, "Grace Hopper", ["grace hopper"], kind="likeness")
    reference = await live.call(
        "POST", f"/works/{figure}/references", holder, expect=201,
        content=png(face_media.grace_hopper()), headers={"content-type": "image/png"})
    assert reference["face_enrolled"] is True
    live.generator.inner = LeakyGenerator(CompositeGenerator(),
                                          face_png(face_media.grace_hopper()))

    video = await generate(live, ada_token, "a quiet walk in the forest", [])

    assert video["state"] == "rejected", video
    assert "FACE-NOT-OTHERS" in video["rule_codes"]


async def test_a_member_cannot_issue_invites_without_end(live: LiveApi):
    _, token = await live.member("ada", verified=False)
    await live.call("POST", "/members/me/invites", token, json={"count": 5})
    refused = await live.call("POST", "/members/me/invites", token, expect=403,
                              json={"count": 1})
    assert refused["code"] == "invite-limit-reached"
