"""Takedown requests from anyone, over HTTP: a person without an account traces an uploaded,
re-encoded copy through the provenance lookup and files a request; a reviewer validates it
and the video and its remix leave the feed at once; a rejected request tells the requester
why; a request near its deadline escalates (fake clock); the proof of work and the status
page's token are checked."""

from __future__ import annotations

import numpy as np

from tests.e2e.conftest import Api
from tests.e2e.takedown_helpers import (
    file_request,
    proof,
    publish_frames,
    reviewer,
    scanned,
    status,
    takedown_case,
)
from tests.e2e.test_provenance import (
    CODEC,
    FPS,
    lookup,
    panning_clip,
    published_video,
    stripped_half_size_copy,
)


def remix_frames(seed: int = 3) -> bytes:
    """Another picture altogether (a remix re-renders; an unrelated video)."""
    picture = np.random.default_rng(seed).integers(0, 256, (90, 160, 3), dtype=np.uint8)
    big = np.kron(picture, np.ones((4, 4, 1), np.uint8))  # blocks: detail PDQ can hash
    return CODEC.encode_h264(panning_clip(big, frames=24), FPS, crf=23, preset="veryfast")


async def feed_ids(api: Api, token: str) -> set[str]:
    page = await api.call("GET", "/feed", token)
    return {item["generation_id"] for item in page["items"]}


async def test_anyone_files_with_an_uploaded_copy_and_the_video_and_its_remix_leave(api: Api):
    gid, signed = await published_video(api, "lumen")
    _, remixer = await api.member("remixer")
    remix = (await api.call("POST", "/generations", remixer, expect=201,
                            json={"prompt": "the same, at night", "seconds": 2,
                                  "remix_of": gid}))["generation_id"]
    await api.publish(remix)
    _, viewer = await api.member("viewer")
    assert {gid, remix} <= await feed_ids(api, viewer)

    # No account: the re-encoded copy is traced back, then the request names what it found.
    traced = await lookup(api, stripped_half_size_copy(signed))
    assert traced["generation"]["id"] == gid
    filed = await file_request(api, gid, found_by_upload=True)
    assert filed["reference"].startswith("TD-") and filed["token"]
    page = await status(api, filed)
    assert page["state"] == "filed" and page["category"] == "intimate_imagery"

    rita = await reviewer(api)
    case = await takedown_case(api, rita, gid)
    assert case["priority"] == "urgent" and "takedown" in case["labels"]
    assert case["evidence"]["takedown_request"] == filed["reference"]
    # The generic decision is refused: a takedown is decided as one
    await api.call("POST", f"/review/cases/{case['id']}/claim", rita)
    await api.call("POST", f"/review/cases/{case['id']}/decision", rita, expect=422,
                   json={"decision": "remove", "policy_code": "NCII-1"})
    api.clock.advance(minutes=10)
    decided = await api.call("POST", f"/review/takedown-requests/{filed['reference']}/decision",
                             rita, json={"valid": True, "policy_code": "NCII-1"})
    assert set(decided["removed"]) == {gid, remix}

    assert not {gid, remix} & await feed_ids(api, viewer)
    for video in (gid, remix):
        found = await api.call("GET", f"/generations/{video}", api.admin)
        assert found["state"] == "taken_down"
    page = await status(api, filed)
    assert (page["state"], page["outcome"], page["removed"]) == ("closed", "removed", 2)
    assert page["seconds_to_removal"] == 600.0
    assert [n["text"] for n in page["notices"]][-1].startswith("2 video(s) were removed")
    stats = await api.call("GET", "/admin/takedowns/stats", api.admin)
    assert (stats["actioned"], stats["p50_seconds"], stats["p99_seconds"]) == (1, 600.0,
                                                                             600.0)


async def test_a_rejected_request_tells_the_requester_why(api: Api):
    gid, _ = await published_video(api, "lumen")
    filed = await file_request(api, None, category="copyright", relation="rights_holder",
                               link=f"https://consentry.example/v/{gid}")
    rita = await reviewer(api)
    case = await takedown_case(api, rita, gid)
    await api.call("POST", f"/review/cases/{case['id']}/claim", rita)
    await api.call("POST", f"/review/takedown-requests/{filed['reference']}/decision", rita,
                   json={"valid": False, "policy_code": "OK-1",
                         "reasons": "the video shows no protected work of yours"})
    page = await status(api, filed)
    assert (page["state"], page["outcome"]) == ("closed", "rejected")
    assert "no protected work" in page["notices"][-1]["text"]
    assert (await api.call("GET", f"/generations/{gid}", api.admin))["state"] == "published"


async def test_a_request_near_its_deadline_escalates(api: Api):
    gid, _ = await published_video(api, "lumen")
    filed = await file_request(api, gid)
    rita = await reviewer(api)
    case = await takedown_case(api, rita, gid)

    api.clock.advance(hours=35)  # 13 hours left: not yet
    swept = await api.call("POST", "/admin/takedowns/escalations", api.admin)
    assert filed["reference"] not in swept["escalated"]
    api.clock.advance(hours=2)  # 11 hours left
    await api.call("POST", "/admin/takedowns/escalations", api.admin)
    moved = await api.call("GET", f"/review/cases/{case['id']}", api.admin)
    assert moved["escalated"] and moved["queue"] == "senior", moved
    assert "deadline" in moved["escalation_reason"]
    # once: a second sweep leaves it as it is
    again = await api.call("POST", "/admin/takedowns/escalations", api.admin)
    assert filed["reference"] not in again["escalated"]


async def test_proof_of_work_and_token_are_checked(api: Api):
    gid, _ = await published_video(api, "lumen")
    bad = await api.call("POST", "/takedown-requests", expect=422, json={
        "proof_of_work": "bm90IGEgcHJvb2Y=", "generation_id": gid, "category": "likeness",
        "relation": "depicted_person", "good_faith_statement": "x" * 30,
        "signature": "Jane Roe", "contact": {"email": "jane@example.org"}})
    assert bad["code"] == "proof-of-work-invalid"
    spent = await proof(api)
    await file_request(api, gid, proof_of_work=spent)
    again = await file_request(api, gid, proof_of_work=spent, expect=409)
    assert again["code"] == "proof-of-work-spent"
    filed = await file_request(api, gid)
    await status(api, {**filed, "token": "not-the-token"}, expect=404)
    missing = await file_request(api, "00000000-0000-0000-0000-000000000000", expect=404)
    assert missing["code"] == "not-found"


async def test_copies_leave_with_the_original_and_the_same_content_stays_down(api: Api):
    """The issue's journey: the original, its remix and a re-published near-copy leave the
    feed on validation; a new generation rendering the same content is rejected with
    STAYDOWN; the provenance lookup says an uploaded copy matches banked content."""
    gid, signed = await published_video(api, "lumen")
    copy = stripped_half_size_copy(signed)
    _, remixer = await api.member("remixer")
    remix = await publish_frames(api, remixer, "the same, at night", remix_frames(),
                                 remix_of=gid)
    _, copier = await api.member("copier")
    near_copy = await publish_frames(api, copier, "an astronaut, again", copy)
    _, other = await api.member("other")
    unrelated = await publish_frames(api, other, "a harbour", remix_frames(seed=5))
    before = await lookup(api, copy)
    assert before["bank"] == {"checked": True, "banked": False, "matches": []}

    filed = await file_request(api, gid, found_by_upload=True)
    rita = await reviewer(api)
    case = await takedown_case(api, rita, gid)
    await api.call("POST", f"/review/cases/{case['id']}/claim", rita)
    decided = await api.call("POST", f"/review/takedown-requests/{filed['reference']}/decision",
                             rita, json={"valid": True, "policy_code": "NCII-1"})
    assert set(decided["removed"]) == {gid, remix, near_copy}
    _, viewer = await api.member("viewer")
    assert await feed_ids(api, viewer) == {unrelated}

    # the same content, made again by anyone, is refused after its scan
    again = await scanned(api, other, "an astronaut waving, once more", copy)
    assert again["state"] == "rejected" and "STAYDOWN" in again["rule_codes"], again
    fresh = await scanned(api, other, "a lighthouse", remix_frames(seed=9))
    assert fresh["state"] != "rejected", fresh
    after = await lookup(api, copy)
    assert after["bank"]["banked"] and after["bank"]["matches"][0]["request"] \
        == filed["reference"]

    # wrongful entries (the original's and the copy's) are disabled, never deleted: the
    # content may be made again
    entries = {m["entry_id"] for m in after["bank"]["matches"]}
    assert len(entries) == 2
    for entry in entries:
        await api.call("POST", f"/admin/hash-bank/{entry}/disable", api.admin,
                       json={"reason": "removed in error"})
        kept = await api.call("GET", f"/admin/hash-bank/{entry}", api.admin)
        assert (kept["enabled"], kept["request"], kept["history"][0]["reason"]) == (
            False, filed["reference"], "removed in error")
    allowed = await scanned(api, other, "an astronaut waving, a third time", copy)
    assert "STAYDOWN" not in allowed["rule_codes"], allowed


async def test_the_author_contests_once_and_another_reviewer_reinstates(api: Api):
    _, author = await api.member("author")
    gid = await publish_frames(api, author, "my own holiday video", remix_frames(seed=11))
    filed = await file_request(api, gid, category="likeness")
    rita, otto = await reviewer(api, "rita"), await reviewer(api, "otto")
    case = await takedown_case(api, rita, gid)
    await api.call("POST", f"/review/cases/{case['id']}/claim", rita)
    await api.call("POST", f"/review/takedown-requests/{filed['reference']}/decision", rita,
                   json={"valid": True, "policy_code": "LIKENESS-1"})
    refused = await api.call("POST", f"/review/cases/{case['id']}/appeal", author, expect=422,
                             json={"text": "this is me"})
    assert "counter-notice" in refused["detail"]

    statement = {"statement": "This is my own face; I made this video of myself."}
    contested = await api.call("POST", f"/generations/{gid}/counter-notice", author,
                               expect=201, json=statement)
    again = await api.call("POST", f"/generations/{gid}/counter-notice", author,
                           expect=409, json=statement)
    assert again["code"] == "already-contested"
    assert "counter-notice" in (await status(api, filed))["notices"][-1]["text"]

    decide = f"/review/takedown-requests/{filed['reference']}/counter-notices/{gid}/decision"
    reinstate = {"reinstate": True, "policy_code": "OK-1", "reasons": "it is the author"}
    await api.call("POST", f"/review/cases/{contested['case_id']}/claim", rita)
    await api.call("POST", decide, rita, expect=403, json=reinstate)  # not the validator
    await api.call("POST", f"/review/cases/{contested['case_id']}/release", rita)
    await api.call("POST", f"/review/cases/{contested['case_id']}/claim", otto)
    assert (await api.call("POST", decide, otto, json=reinstate))["state"] == "reinstated"

    assert (await api.call("GET", f"/generations/{gid}", author))["state"] == "published"
    _, viewer = await api.member("viewer")
    assert gid in await feed_ids(api, viewer)
    assert "reinstated" in (await status(api, filed))["notices"][-1]["text"]
    # its bank entry was disabled with it: the same content may be made again
    remade = await scanned(api, author, "my holiday, again", remix_frames(seed=11))
    assert "STAYDOWN" not in remade["rule_codes"], remade


async def test_the_bank_goes_to_hma_and_back_and_an_untrusted_import_only_reviews(api: Api):
    _, author = await api.member("author")
    video = remix_frames(seed=21)
    gid = await publish_frames(api, author, "a clip", video)
    filed = await file_request(api, gid)
    rita = await reviewer(api)
    case = await takedown_case(api, rita, gid)
    await api.call("POST", f"/review/cases/{case['id']}/claim", rita)
    await api.call("POST", f"/review/takedown-requests/{filed['reference']}/decision", rita,
                   json={"valid": True, "policy_code": "NCII-1"})

    exported = await api.client.get("/admin/hash-bank/export", headers=api.auth(api.admin))
    assert exported.status_code == 200 and exported.headers["content-type"].startswith(
        "text/plain")
    lines = exported.text.splitlines()
    assert lines and all(line.startswith("pdq ") and len(line) == 68 for line in lines)

    # Another platform's bank: the local entry is disabled here, the same signals come
    # back under the partner's name (plus a line of a signal type we do not use).
    [match] = (await lookup(api, video))["bank"]["matches"]
    await api.call("POST", f"/admin/hash-bank/{match['entry_id']}/disable", api.admin,
                   json={"reason": "testing the exchange"})
    imported = await api.call(
        "POST", "/admin/hash-bank/import", api.admin, params={"source": "partner-hma"},
        content=exported.text + "md5 d41d8cd98f00b204e9800998ecf8427e\n",
        headers={"content-type": "text/plain"})
    assert (imported["imported"], imported["skipped"], imported["trusted"]) == (
        len(lines), 1, False)
    again = await api.call("POST", "/admin/hash-bank/import", api.admin,
                           params={"source": "partner-hma"}, content=exported.text,
                           headers={"content-type": "text/plain"})
    assert (again["imported"], again["already"]) == (0, len(lines))
    exported_back = await api.client.get("/admin/hash-bank/export",
                                         params={"source": "partner-hma"},
                                         headers=api.auth(api.admin))
    assert sorted(exported_back.text.splitlines()) == sorted(lines)

    # untrusted: the same content is held for a person, not rejected
    held = await scanned(api, author, "the clip again", video)
    assert held["state"] == "held", held
    queue = await api.call("GET", "/review/cases", api.admin)
    [hold] = [c for c in queue["items"] if c["subject_id"] == held["id"]]
    assert (hold["reason"], hold["queue"]) == ("STAYDOWN", "takedowns"), hold
    await api.call("PUT", "/admin/hash-bank/sources/partner-hma", api.admin,
                   json={"trusted": True, "reason": "audited partner"})
    rejected = await scanned(api, author, "the clip, once more", video)
    assert rejected["state"] == "rejected" and "STAYDOWN" in rejected["rule_codes"], rejected
