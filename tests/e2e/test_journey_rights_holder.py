"""Journey 1: a rights holder is onboarded, registers a character with aliases and a
reference image, grants it to everyone but forbids violence, sees the work's usage, revokes
the grant, and sees the video that used it taken down."""

from __future__ import annotations

import asyncio
import hashlib
import struct
import zlib
from typing import Any

from tests.e2e.conftest import Api

TAKEDOWN_TIMEOUT_S = 5.0


def png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    """A small, valid, deterministic PNG (one colour), built without an imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * width  # filter byte, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


async def usage_until(api: Api, token: str, work_id: str, state: str,
                      timeout: float = TAKEDOWN_TIMEOUT_S) -> list[dict[str, Any]]:
    """The work's usage once every listed generation is in `state`, or the last seen."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        items = (await api.call("GET", f"/works/{work_id}/usage", token))["items"]
        if items and all(i["state"] == state for i in items):
            return items
        if asyncio.get_running_loop().time() > deadline:
            return items
        await asyncio.sleep(0.05)


async def test_a_rights_holder_licenses_a_character_sees_its_use_and_revokes_it(api: Api):
    onboarded = await api.call("POST", "/rights-holders", api.admin, expect=201,
                               json={"name": "Riverbank Studios",
                                     "proof": "trademark-registry-extract-4471"})
    studio = onboarded["secret"]
    me = await api.call("GET", "/rights-holders/me", studio)
    assert me["name"] == "Riverbank Studios"
    assert [k["key_id"] for k in me["keys"]] == [onboarded["key_id"]]

    work = await api.call("POST", "/works", studio, expect=201, json={
        "title": "Marlowe the Otter", "kind": "character",
        "aliases": ["Captain Marlowe", "Marlowe Otter"],
        "description": "a brown river otter in a blue sailor's cap"})
    image = png()
    reference = await api.call("POST", f"/works/{work['id']}/references", studio, expect=201,
                               content=image, headers={"content-type": "image/png"})
    assert reference["digest"] == hashlib.sha256(image).hexdigest()
    assert api.container.blobs.get(reference["digest"]) == image
    grant = await api.call("POST", f"/works/{work['id']}/grants", studio, expect=201,
                           json={"audience": "everyone", "forbidden_categories": ["violence"]})
    assert grant["status"] == "active"

    registered = await api.call("GET", f"/works/{work['id']}", studio)
    assert [r["digest"] for r in registered["references"]] == [reference["digest"]]
    assert registered["grant_ids"] == [grant["id"]]
    listed = await api.call("GET", "/works", studio)
    assert [(w["id"], w["reference_count"]) for w in listed["items"]] == [(work["id"], 1)]

    _, ada = await api.member("ada")
    # Leetspeak and a doubled letter: still the Captain, and licensed for peaceful scenes.
    peaceful = await api.call("POST", "/generations", ada, expect=201, json={
        "prompt": "C4ptain Marrlowe has a picnic on a sunny riverbank", "seconds": 6})
    assert peaceful["outcome"] == "allow"
    status = await api.call("GET", f"/generations/{peaceful['generation_id']}", ada)
    assert status["work_ids"] == [work["id"]]

    violent = await api.call("POST", "/generations", ada, expect=403, json={
        "prompt": "c@ptain marlowe stabbed the pirate king", "seconds": 6})
    assert violent["rule_codes"] == ["WORK-LICENSED"]

    await api.publish(peaceful["generation_id"])
    usage = await api.call("GET", f"/works/{work['id']}/usage", studio)
    assert [(u["generation_id"], u["state"]) for u in usage["items"]] == [
        (peaceful["generation_id"], "published")]

    revoked = await api.call("POST", f"/grants/{grant['id']}/revoke", studio,
                             json={"reason": "licence ended"})
    assert revoked["status"] == "revoked"
    after = await usage_until(api, studio, work["id"], "taken_down")
    assert [(u["generation_id"], u["state"]) for u in after] == [
        (peaceful["generation_id"], "taken_down")]
    assert after[0]["takedown_cause"]["kind"] == "Grant.Revoked"

    again = await api.call("POST", "/generations", ada, expect=403, json={
        "prompt": "Captain Marlowe has a picnic", "seconds": 6})
    assert again["rule_codes"] == ["WORK-LICENSED"]


async def test_an_organisation_holds_several_keys_and_a_revoked_one_stops_working(api: Api):
    first = (await api.call("POST", "/rights-holders", api.admin, expect=201,
                            json={"name": "Label One", "proof": "ref-1"}))["secret"]
    second = await api.call("POST", "/rights-holders/me/keys", first, expect=201,
                            json={"label": "ci pipeline"})
    me = await api.call("GET", "/rights-holders/me", second["secret"])
    assert sorted(k["label"] for k in me["keys"]) == ["ci pipeline", "onboarding"]

    await api.call("DELETE", f"/rights-holders/me/keys/{second['key_id']}", first)
    await api.call("GET", "/rights-holders/me", second["secret"], expect=401)
    assert [k["label"] for k in (await api.call("GET", "/rights-holders/me", first))["keys"]] \
        == ["onboarding"]


async def test_admins_list_rights_holders_newest_first_with_their_work_counts(api: Api):
    for name in ("Alpha Films", "Beta Records", "Gamma Estate"):
        token = (await api.call("POST", "/rights-holders", api.admin, expect=201,
                                json={"name": name, "proof": "ref"}))["secret"]
        if name == "Beta Records":
            await api.call("POST", "/works", token, expect=201,
                           json={"title": "Beta Anthem", "kind": "artwork"})
    page = await api.call("GET", "/rights-holders?limit=2", api.admin)
    assert [(h["name"], h["work_count"]) for h in page["items"]] == [
        ("Gamma Estate", 0), ("Beta Records", 1)]
    rest = await api.call("GET", f"/rights-holders?cursor={page['next_cursor']}", api.admin)
    assert [h["name"] for h in rest["items"]] == ["Alpha Films"]
    assert rest["next_cursor"] is None


async def test_grants_are_amended_listed_and_shown_with_their_status(api: Api):
    studio = (await api.call("POST", "/rights-holders", api.admin, expect=201,
                             json={"name": "Harbour Pictures", "proof": "ref"}))["secret"]
    work = await api.call("POST", "/works", studio, expect=201,
                          json={"title": "Harbour Lighthouse Keeper", "kind": "character"})
    grant = await api.call("POST", f"/works/{work['id']}/grants", studio, expect=201,
                           json={"audience": "tiers", "tiers": ["pro"],
                                 "uses": ["generate", "remix"]})
    amended = await api.call("POST", f"/grants/{grant['id']}/amend", studio, json={
        "audience": "everyone", "attribution_required": True,
        "valid_from": "2030-01-01T00:00:00Z"})
    assert (amended["audience"], amended["attribution_required"], amended["status"]) == (
        "everyone", True, "scheduled")
    listed = await api.call("GET", f"/works/{work['id']}/grants", studio)
    assert [g["id"] for g in listed["items"]] == [grant["id"]]
    shown = await api.call("GET", f"/grants/{grant['id']}", studio)
    # Amended terms replace the old ones: uses fell back to the default.
    assert (shown["tiers"], shown["uses"]) == ([], ["generate"])


async def test_reference_media_must_be_an_allowed_type_whose_bytes_match(api: Api):
    studio = (await api.call("POST", "/rights-holders", api.admin, expect=201,
                             json={"name": "Brand Co", "proof": "ref"}))["secret"]
    work = await api.call("POST", "/works", studio, expect=201,
                          json={"title": "Brand Co Mascot", "kind": "brand"})
    path = f"/works/{work['id']}/references"
    wrong_type = await api.call("POST", path, studio, expect=415, content=b"%PDF-1.7",
                                headers={"content-type": "application/pdf"})
    assert wrong_type["code"] == "unsupported-media"
    lying = await api.call("POST", path, studio, expect=415, content=b"not really a png",
                           headers={"content-type": "image/png"})
    assert lying["code"] == "unsupported-media"
    await api.call("POST", path, studio, expect=422, content=b"",
                   headers={"content-type": "image/png"})
    assert (await api.call("GET", f"/works/{work['id']}", studio))["references"] == []


async def test_a_withdrawn_work_is_marked_and_takes_no_more_grants(api: Api):
    studio = (await api.call("POST", "/rights-holders", api.admin, expect=201,
                             json={"name": "Estate of Someone", "proof": "ref"}))["secret"]
    work = await api.call("POST", "/works", studio, expect=201,
                          json={"title": "Portrait Series Nine", "kind": "artwork"})
    withdrawn = await api.call("POST", f"/works/{work['id']}/withdraw", studio)
    assert withdrawn["withdrawn"] is True
    refused = await api.call("POST", f"/works/{work['id']}/grants", studio, expect=409,
                             json={"audience": "everyone"})
    assert refused["code"] == "invalid-state"
    listed = await api.call("GET", "/works", studio)
    assert [w["withdrawn"] for w in listed["items"]] == [True]


async def test_everyday_words_and_too_short_names_are_refused_as_aliases_with_the_reason(
        api: Api):
    studio = (await api.call("POST", "/rights-holders", api.admin, expect=201,
                             json={"name": "Mammoth Pictures",
                                   "proof": "trademark-registry-extract-5120"}))["secret"]
    response = await api.client.post("/works", headers=api.auth(studio), json={
        "title": "Max the Mammoth", "kind": "character", "aliases": ["Max", "Ox", "Maxi Mammoth"]})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "alias-too-generic"
    kinds = {r["alias"]: r["kind"] for r in problem["refusals"]}
    assert kinds == {"Max": "common_word", "Ox": "too_short"}
    assert all(r["reason"] for r in problem["refusals"])
    assert (await api.call("GET", "/works", studio))["items"] == [], "nothing registered"

    # the same word with context words is a name, not an everyday word
    await api.call("POST", "/works", studio, expect=201, json={
        "title": "Max the Mammoth", "kind": "character", "aliases": ["Maxi Mammoth"]})
