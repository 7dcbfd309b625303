"""Trust and safety over HTTP: evidence served only to staff who may work the case (filtered
unless asked, every view recorded), the policy catalogue and the queues' rules on decisions,
strikes, routing and escalation, calibration items and the statistics."""

from __future__ import annotations

from uuid import UUID

import cv2
import numpy as np

from tests.e2e.conftest import Api
from tests.e2e.review_helpers import held_with_media, staff


def _decoded(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image.astype(np.int16)


def _detail(image: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels: what a blur takes away."""
    return float(np.abs(np.diff(image, axis=1)).mean())


async def _views(api: Api, case_id: str) -> list[tuple[str, bool, str]]:
    history = await api.call("GET", f"/admin/audit/{case_id}?limit=200", api.admin)
    return [(e["summary"]["item"], e["summary"]["unblurred"], e["actor_id"])
            for e in history["items"] if e["event"] == "EvidenceViewed"]


async def test_evidence_goes_to_staff_of_the_queue_filtered_and_every_view_is_recorded(
        api: Api):
    ada_id, ada = await api.member("ada")
    _, bob = await api.member("bob")
    reviewer_id, reviewer = await staff(api, "rev")
    _, triage = await staff(api, "tri", grade="triage")
    _, ada_at_work = await staff(api, "ada at work", member_id=ada_id)
    holder = await api.call("POST", "/rights-holders", api.admin, expect=201,
                            json={"name": "Studio", "proof": "ref"})
    gid, case_id, frame = await held_with_media(api, ada)
    case = await api.call("GET", f"/review/cases/{case_id}", reviewer)
    assert case["queue"] == "safety" and case["labels"] == ["safety"]

    listed = await api.call("GET", f"/review/cases/{case_id}/evidence", reviewer)
    assert [(i["item"], i["blur"], i["grayscale"]) for i in listed["items"]] == [
        ("frame:0", True, True), ("video", True, True)]

    shown = await api.client.get(f"/review/cases/{case_id}/evidence/frame:0",
                                 headers=api.auth(reviewer))
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert shown.headers["x-evidence-filter"] == "blur=1;grayscale=1"
    assert "no-store" in shown.headers["cache-control"]
    filtered, original = _decoded(shown.content), _decoded(frame)
    assert filtered.shape == original.shape
    assert np.abs(filtered[..., 0] - filtered[..., 2]).max() <= 2  # grayscale
    assert _detail(filtered) < _detail(original) / 5  # blurred

    as_is = await api.client.get(f"/review/cases/{case_id}/evidence/frame:0?unblurred=true",
                                 headers=api.auth(reviewer))
    assert as_is.status_code == 200 and as_is.content == frame
    video = await api.client.get(f"/review/cases/{case_id}/evidence/video",
                                 headers=api.auth(reviewer))
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"

    refused = {  # who may not see it, and why
        "the author (a member)": (ada, 403, "forbidden"),
        "another member": (bob, 403, "forbidden"),
        "a rights holder": (holder["secret"], 403, "forbidden"),
        "triage (not this queue)": (triage, 403, "queue-forbids"),
        "the author's own staff account": (ada_at_work, 403, "reviewer-involved"),
    }
    for who, (token, status, code) in refused.items():
        for path in (f"/review/cases/{case_id}/evidence/frame:0",
                     f"/review/cases/{case_id}/evidence/video",
                     f"/review/cases/{case_id}/evidence", f"/review/cases/{case_id}"):
            answer = await api.client.get(path, headers=api.auth(token))
            assert (answer.status_code, answer.json()["code"]) == (status, code), (who, path)
    missing = await api.client.get(f"/review/cases/{case_id}/evidence/frame:7",
                                   headers=api.auth(reviewer))
    assert missing.status_code == 404

    assert await _views(api, case_id) == [("frame:0", False, reviewer_id),
                                          ("frame:0", True, reviewer_id),
                                          ("video", False, reviewer_id)]
    # looking is not deciding: the video is still held
    assert (await api.call("GET", f"/generations/{gid}", ada))["state"] == "held"


async def test_wellness_defaults_per_label_and_each_reviewers_own_choice(api: Api):
    _, ada = await api.member("ada")
    _, reviewer = await staff(api, "rev")
    _, case_id, _ = await held_with_media(api, ada)

    async def shown() -> tuple[bool, bool]:
        items = (await api.call("GET", f"/review/cases/{case_id}/evidence", reviewer))["items"]
        return items[0]["blur"], items[0]["grayscale"]

    await api.call("PUT", "/review/config/wellness/safety", api.admin,
                   json={"blur": False, "grayscale": True})
    assert await shown() == (False, True)
    await api.call("PUT", "/review/me/wellness/safety", reviewer,
                   json={"blur": True, "grayscale": False})
    assert await shown() == (True, False)
    frame = await api.client.get(f"/review/cases/{case_id}/evidence/frame:0",
                                 headers=api.auth(reviewer))
    assert frame.headers["x-evidence-filter"] == "blur=1;grayscale=0"
    await api.call("PUT", "/review/me/wellness/safety", reviewer,
                   json={"blur": None, "grayscale": None})
    assert await shown() == (False, True)
    await api.call("PUT", "/review/me/wellness/safety", reviewer, expect=422,
                   json={"blur": True, "grayscale": None})
    await api.call("PUT", "/review/config/wellness/safety", reviewer, expect=403,
                   json={"blur": False, "grayscale": False})


async def _decided(api: Api, token: str, case_id: str, decision: str, code: str,
                   expect: int = 200, path: str = "decision") -> dict:
    return await api.call("POST", f"/review/cases/{case_id}/{path}", token, expect=expect,
                          json={"decision": decision, "policy_code": code})


async def test_a_decision_names_a_live_code_that_allows_it_in_a_queue_that_allows_it(
        api: Api):
    _, ada = await api.member("ada")
    _, bob = await api.member("bob")
    _, reviewer = await staff(api, "rev")
    _, triage = await staff(api, "tri", grade="triage")
    _, case_id, _ = await held_with_media(api, ada)
    await api.call("POST", f"/review/cases/{case_id}/claim", reviewer)

    for code, decision in (("OK-1", "remove"), ("NOPE-9", "remove"),
                           ("SENSITIVE-1", "approve")):
        refused = await _decided(api, reviewer, case_id, decision, code, expect=422)
        assert refused["code"] == "policy-not-allowed", code
    await api.call("DELETE", "/review/config/policies/SAFETY-1", api.admin)
    retired = await _decided(api, reviewer, case_id, "remove", "SAFETY-1", expect=422)
    assert retired["code"] == "policy-not-allowed"
    catalogue = await api.call("GET", "/review/config", reviewer)
    assert {p["code"]: p["retired"] for p in catalogue["policies"]}["SAFETY-1"] is True
    await api.call("PUT", "/review/config/policies/SAFETY-1", api.admin,
                   json={"title": "Graphic violence", "description": "Gore.", "severity": 3,
                         "actions": ["remove", "restrict"]})
    await _decided(api, reviewer, case_id, "remove", "SAFETY-1")

    # Triage works the member reports queue and may not remove there.
    gid = (await api.call("POST", "/generations", ada, expect=201,
                          json={"prompt": "a quiet street", "seconds": 5}))["generation_id"]
    await api.publish(gid)
    spam = await api.call("POST", f"/generations/{gid}/reports", bob, expect=201,
                          json={"category": "spam"})
    reported = await api.call("GET", f"/review/cases/{spam['case_id']}", triage)
    assert reported["queue"] == "reports"
    await api.call("POST", f"/review/cases/{spam['case_id']}/claim", triage)
    forbidden = await _decided(api, triage, spam["case_id"], "remove", "SPAM-1", expect=403)
    assert forbidden["code"] == "queue-forbids"
    await _decided(api, triage, spam["case_id"], "restrict", "SPAM-1")


async def test_nobody_decides_on_their_own_video_or_a_remix_of_it(api: Api):
    ada_id, ada = await api.member("ada")
    _, cai = await api.member("cai")
    _, ada_at_work = await staff(api, "ada at work", member_id=ada_id)
    source = (await api.call("POST", "/generations", ada, expect=201,
                             json={"prompt": "a picnic", "seconds": 5}))["generation_id"]
    await api.publish(source)
    remix = (await api.call("POST", "/generations", cai, expect=201,
                            json={"prompt": "at night", "seconds": 5,
                                  "remix_of": source}))["generation_id"]
    app = api.container.app
    await api.worker(app.record_render, UUID(remix), "a" * 64, 48, 2.0, "w1", 1)
    held = await api.worker(app.hold_generation, UUID(remix), ("SAFETY",), {})
    for path in ("claim", "decision"):
        refused = await api.call("POST", f"/review/cases/{held['case_id']}/{path}",
                                 ada_at_work, expect=403,
                                 json={"decision": "remove", "policy_code": "SAFETY-1"}
                                 if path == "decision" else None)
        assert refused["code"] == "reviewer-involved"


async def test_strikes_suspend_generation_and_an_overturned_removal_lifts_it(api: Api):
    _, ada = await api.member("ada")
    _, first = await staff(api, "first")
    _, second = await staff(api, "second")
    await api.call("PUT", "/review/config/strikes", api.admin,
                   json={"min_severity": 3, "limit": 2, "lifetime_days": 30,
                         "suspension_days": 7})
    cases = []
    for prompt in ("a fight", "another fight", "a calm sea"):
        _, case_id, _ = await held_with_media(api, ada, prompt)
        cases.append(case_id)
    await api.call("POST", f"/review/cases/{cases[2]}/claim", first)
    await _decided(api, first, cases[2], "remove", "SPAM-1")  # severity 2: no strike
    me = await api.call("GET", "/members/me", ada)
    assert me["strikes"] == [] and me["generation_suspended_until"] is None
    for case_id in cases[:2]:
        await api.call("POST", f"/review/cases/{case_id}/claim", first)
        await _decided(api, first, case_id, "remove", "SAFETY-1")
    me = await api.call("GET", "/members/me", ada)
    assert [s["policy_code"] for s in me["strikes"]] == ["SAFETY-1", "SAFETY-1"]
    assert me["generation_suspended_until"] and "2 strikes" in me[
        "generation_suspension_reason"]
    blocked = await api.call("POST", "/generations", ada, expect=403,
                             json={"prompt": "anything", "seconds": 5})
    assert blocked["code"] == "generation-suspended" and blocked["until"]

    await api.call("POST", f"/review/cases/{cases[0]}/appeal", ada,
                   json={"text": "that was a dance"})
    appeal = await api.call("GET", f"/review/cases/{cases[0]}", second)
    assert appeal["queue"] == "appeals" and appeal["state"] == "appealed"
    await api.call("POST", f"/review/cases/{cases[0]}/claim", second)
    await _decided(api, second, cases[0], "approve", "OK-1", path="appeal-decision")
    me = await api.call("GET", "/members/me", ada)
    assert len(me["strikes"]) == 1 and me["generation_suspended_until"] is None
    await api.call("POST", "/generations", ada, expect=201,
                   json={"prompt": "a dance", "seconds": 5})
    api.clock.advance(days=31)  # the last strike expires
    assert (await api.call("GET", "/members/me", ada))["strikes"] == []


async def test_routing_rules_queues_and_escalation(api: Api):
    _, ada = await api.member("ada")
    _, reviewer = await staff(api, "rev")
    _, senior = await staff(api, "sen", grade="senior")
    await api.call("PUT", "/review/config/queues/vip", api.admin,
                   json={"title": "Public figures", "decisions": {"senior": ["approve",
                                                                             "remove"]},
                         "senior": "senior"})
    await api.call("PUT", "/review/config/rules/vip", api.admin,
                   json={"queue": "vip", "reasons": ["PIPELINE-ERROR"]})
    in_use = await api.call("DELETE", "/review/config/queues/vip", api.admin, expect=409)
    assert in_use["code"] == "queue-in-use" and in_use["rules"] == ["vip"]
    _, routed, _ = await held_with_media(api, ada, "a stage", reasons=("PIPELINE-ERROR",))
    assert (await api.call("GET", f"/review/cases/{routed}", senior))["queue"] == "vip"
    hidden = await api.call("GET", f"/review/cases/{routed}", reviewer, expect=403)
    assert hidden["code"] == "queue-forbids"
    listed = await api.call("GET", "/review/cases", reviewer)
    assert routed not in [c["id"] for c in listed["items"]]
    mine = await api.call("GET", "/review/cases?queue=vip", reviewer, expect=403)
    assert mine["code"] == "queue-forbids"
    await api.call("DELETE", "/review/config/rules/vip", api.admin)
    await api.call("PUT", "/review/config/queues/general", api.admin, expect=200,
                   json={"title": "General", "decisions": {"reviewer": ["approve"]},
                         "senior": "vip"})
    still = await api.call("DELETE", "/review/config/queues/vip", api.admin, expect=409)
    assert still["queues"] == ["general"]

    _, case_id, _ = await held_with_media(api, ada, "a storm")
    await api.call("POST", f"/review/cases/{case_id}/claim", reviewer)
    moved = await api.call("POST", f"/review/cases/{case_id}/escalate", reviewer,
                           json={"reason": "gore?"})
    assert (moved["queue"], moved["claimed_by"], moved["priority"]) == ("senior", None,
                                                                        "urgent")
    await api.call("POST", f"/review/cases/{case_id}/claim", reviewer, expect=403)
    await api.call("POST", f"/review/cases/{case_id}/claim", senior)
    await _decided(api, senior, case_id, "remove", "SAFETY-1")


async def test_a_calibration_item_is_served_unmarked_and_its_decision_acts_on_nothing(
        api: Api):
    _, ada = await api.member("ada")
    first_id, first = await staff(api, "first")
    second_id, second = await staff(api, "second")
    gid, case_id, _ = await held_with_media(api, ada)
    await api.call("POST", f"/review/cases/{case_id}/claim", first)
    await _decided(api, first, case_id, "approve", "OK-1")
    state = (await api.call("GET", f"/generations/{gid}", ada))["state"]

    made = await api.call("POST", f"/review/cases/{case_id}/calibration", api.admin,
                          expect=201, json={"decision": "remove", "policy_code": "SAFETY-1"})
    await api.call("POST", f"/review/cases/{case_id}/calibration", first, expect=403,
                   json={"decision": "remove", "policy_code": "SAFETY-1"})
    item = made["case_id"]
    queue = await api.call("GET", "/review/cases?queue=safety", second)
    served = next(c for c in queue["items"] if c["id"] == item)
    assert "calibration" not in served and served["state"] == "open"
    assert served["reason"] == "SAFETY"
    await api.call("POST", f"/review/cases/{item}/claim", second)
    await _decided(api, second, item, "approve", "OK-1")  # disagrees with the golden answer
    assert (await api.call("GET", f"/generations/{gid}", ada))["state"] == state
    mine = await api.call("GET", "/members/me/cases", ada)
    assert item not in [c["id"] for c in mine["items"]]
    refused = await api.call("POST", f"/review/cases/{item}/appeal", ada, expect=403,
                             json={"text": "?"})
    assert refused["code"] == "forbidden"

    golden = await api.call("GET", "/review/calibration", api.admin)
    assert [(i["case_id"], i["decided_by"], i["agreed"]) for i in golden["items"]] == [
        (item, second_id, False)]
    stats = await api.call("GET", "/review/statistics", api.admin)
    assert stats["reviewers"][second_id]["calibration_decided"] == 1
    assert stats["reviewers"][second_id]["calibration_agreement"] == 0.0
    assert stats["reviewers"][second_id]["decided"] == 0  # calibration counts nowhere else
    assert stats["reviewers"][first_id]["decided"] == 1


async def test_statistics_per_queue_and_reviewer(api: Api):
    _, ada = await api.member("ada")
    first_id, first = await staff(api, "first")
    second_id, second = await staff(api, "second")
    ids = [(await held_with_media(api, ada, p))[1] for p in ("one", "two", "three")]
    for case_id, (decision, code) in zip(ids[:2], (("remove", "SAFETY-1"),
                                                    ("approve", "OK-1")), strict=True):
        await api.call("POST", f"/review/cases/{case_id}/claim", first)
        api.clock.advance(minutes=4)
        await _decided(api, first, case_id, decision, code)
    await api.call("POST", f"/review/cases/{ids[0]}/appeal", ada, json={"text": "no"})
    await api.call("POST", f"/review/cases/{ids[0]}/claim", second)
    api.clock.advance(minutes=2)
    await _decided(api, second, ids[0], "approve", "OK-1", path="appeal-decision")

    stats = await api.call("GET", "/review/statistics", api.admin)
    safety = stats["queues"]["safety"]
    assert (safety["pending"], safety["decided"], safety["average_handle_seconds"],
            safety["action_rate"], safety["appealed"], safety["overturned"]) == (
        1, 2, 240.0, 0.5, 1, 1)
    assert safety["oldest_seconds"] is not None
    assert stats["queues"]["appeals"]["decided"] == 1
    assert stats["queues"]["appeals"]["average_handle_seconds"] == 120.0
    assert (stats["reviewers"][first_id]["decided"],
            stats["reviewers"][first_id]["overturned"]) == (2, 1)
    assert stats["reviewers"][second_id]["decided"] == 1
    await api.call("GET", "/review/statistics", first, expect=403)
