"""Journey 4: a reviewer claims the oldest high-priority case, sees the evidence and the
decision trace, removes the video; the author reads the note addressed to them and appeals;
a second reviewer decides the appeal and the video goes on to the feed. Also: leases,
conflicts of interest, reports and the audit trail."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.e2e.conftest import Api
from tests.fakes import findings

EVIDENCE = {"safety": {"label": "violence", "score": 0.55},
            "frames": ["frames/0012.png", "frames/0013.png"]}


async def enrol(api: Api, name: str, member_id: str | None = None) -> tuple[str, str]:
    body = {"name": name, "role": "reviewer"}
    if member_id:
        body["member_id"] = member_id
    staff = await api.call("POST", "/admin/staff", api.admin, expect=201, json=body)
    return staff["id"], staff["secret"]


async def held(api: Api, token: str, prompt: str, priority: str) -> tuple[str, str]:
    """A generation the worker rendered and then held for review; returns (generation,
    case)."""
    made = await api.call("POST", "/generations", token, expect=201,
                          json={"prompt": prompt, "seconds": 5})
    gid, app = made["generation_id"], api.container.app
    await api.worker(app.record_render, UUID(gid), "a" * 64, 48, 2.0, "w1", 1)
    result = await api.worker(app.hold_generation, UUID(gid), ("SAFETY",), EVIDENCE,
                              priority)
    return gid, result["case_id"]


async def published(api: Api, token: str, prompt: str) -> str:
    made = await api.call("POST", "/generations", token, expect=201,
                          json={"prompt": prompt, "seconds": 5})
    await api.publish(made["generation_id"])
    return str(made["generation_id"])


async def state_of(api: Api, generation_id: str, token: str) -> Any:
    return (await api.call("GET", f"/generations/{generation_id}", token))["state"]


async def test_a_removal_is_appealed_and_a_second_reviewer_restores_the_video(api: Api):
    _, ada = await api.member("ada")
    _, bob = await api.member("bob")
    _, cai = await api.member("cai")
    _, first = await enrol(api, "first reviewer")
    second_id, second = await enrol(api, "second reviewer")
    _, low_case = await held(api, bob, "a crowded market", "normal")  # the oldest case
    gid, case_id = await held(api, ada, "a harbour at dusk with fireworks", "high")
    _, newer_high = await held(api, cai, "a storm over the bay", "high")

    queue = await api.call("GET", "/review/cases?available=true", first)
    assert [c["id"] for c in queue["items"]] == [case_id, newer_high, low_case]
    only_high = await api.call("GET", "/review/cases?min_priority=high", first)
    assert [c["id"] for c in only_high["items"]] == [case_id, newer_high]

    claimed = await api.call("POST", f"/review/cases/{case_id}/claim", first)
    assert claimed["claimed_by"] and claimed["lease_until"]
    case = await api.call("GET", f"/review/cases/{case_id}", first)
    assert case["priority"] == "high" and case["reason"] == "SAFETY"
    assert case["evidence"] == EVIDENCE
    assert case["generation"]["state"] == "held"
    assert {r["code"] for r in case["generation"]["trace"]} >= {"ID-VERIFIED", "TIER-LIMITS"}
    assert all("evidence" in r for r in case["generation"]["trace"])  # the complete trace

    await api.call("POST", f"/review/cases/{case_id}/comments", first,
                   json={"text": "knife at 00:03, looks real", "visibility": "internal"})
    await api.call("POST", f"/review/cases/{case_id}/comments", first,
                   json={"text": "Your video shows a realistic weapon.",
                         "visibility": "author"})
    decided = await api.call("POST", f"/review/cases/{case_id}/decision", first,
                             json={"decision": "remove", "policy_code": "SAFETY-1"})
    assert (decided["state"], decided["decision"]) == ("decided", "remove")
    assert await state_of(api, gid, ada) == "rejected"
    done = await api.call("GET", "/review/cases?state=decided&state=closed", second)
    assert [c["id"] for c in done["items"]] == [case_id]

    mine = await api.call("GET", "/members/me/cases", ada)
    [seen] = mine["items"]
    assert (seen["id"], seen["decision"], seen["policy_code"]) == (case_id, "remove",
                                                                    "SAFETY-1")
    assert [n["text"] for n in seen["notes"]] == ["Your video shows a realistic weapon."]
    assert seen["can_appeal"] and "knife" not in str(mine)

    appealed = await api.call("POST", f"/review/cases/{case_id}/appeal", ada,
                              json={"text": "They are fireworks, not a knife."})
    assert appealed["state"] == "appealed" and not appealed["can_appeal"]

    await api.call("POST", f"/review/cases/{case_id}/appeal-decision", first, expect=403,
                   json={"decision": "remove", "policy_code": "SAFETY-1"})
    await api.call("POST", f"/review/cases/{case_id}/claim", first, expect=403)
    await api.call("POST", f"/review/cases/{case_id}/claim", second)
    closed = await api.call("POST", f"/review/cases/{case_id}/appeal-decision", second,
                            json={"decision": "approve", "policy_code": "OK-1"})
    assert (closed["state"], closed["appeal_decision"], closed["appeal_decided_by"]) == (
        "closed", "approve", second_id)

    assert await state_of(api, gid, ada) == "rendered"  # continues where it was held
    app = api.container.app
    await api.worker(app.record_scan, UUID(gid), findings())
    await api.worker(app.record_watermark, UUID(gid), "00ff00ff00ff", "b" * 64, "c" * 64)
    await api.worker(app.publish_generation, UUID(gid))
    assert await state_of(api, gid, ada) == "published"
    outcome = (await api.call("GET", "/members/me/cases", ada))["items"][0]
    assert (outcome["state"], outcome["appeal_decision"]) == ("closed", "approve")

    audit = await api.call("GET", f"/admin/audit/{case_id}", api.admin)
    assert [e["event"] for e in audit["items"]] == [
        "Opened", "Claimed", "Commented", "Commented", "Decided", "Appealed", "Claimed",
        "AppealDecided"]
    assert audit["items"][-1]["actor_id"] == second_id


async def test_a_reviewer_cannot_claim_or_open_a_case_about_their_own_content(api: Api):
    rita_member, rita_app_token = await api.member("rita")
    _, rita = await enrol(api, "rita at work", member_id=rita_member)
    _, case_id = await held(api, rita_app_token, "a quiet lake", "high")

    await api.call("POST", f"/review/cases/{case_id}/claim", rita, expect=403)
    await api.call("GET", f"/review/cases/{case_id}", rita, expect=403)
    queue = await api.call("GET", "/review/cases", rita)
    assert case_id not in [c["id"] for c in queue["items"]]

    _, colleague = await enrol(api, "colleague")
    queue = await api.call("GET", "/review/cases", colleague)
    assert case_id in [c["id"] for c in queue["items"]]


async def test_an_expired_lease_lets_another_reviewer_take_the_case(api: Api):
    _, ada = await api.member("ada")
    first_id, first = await enrol(api, "first")
    second_id, second = await enrol(api, "second")
    gid, case_id = await held(api, ada, "a mountain road", "high")

    await api.call("POST", f"/review/cases/{case_id}/claim", first)
    await api.call("POST", f"/review/cases/{case_id}/claim", second, expect=403)
    hidden = await api.call("GET", "/review/cases?available=true", second)
    assert case_id not in [c["id"] for c in hidden["items"]]

    api.clock.advance(minutes=16)
    visible = await api.call("GET", "/review/cases?available=true", second)
    assert case_id in [c["id"] for c in visible["items"]]
    taken = await api.call("POST", f"/review/cases/{case_id}/claim", second)
    assert taken["claimed_by"] == second_id
    await api.call("POST", f"/review/cases/{case_id}/decision", first, expect=403,
                   json={"decision": "remove", "policy_code": "SAFETY-1"})
    await api.call("POST", f"/review/cases/{case_id}/release", first, expect=403)
    released = await api.call("POST", f"/review/cases/{case_id}/release", second)
    assert released["claimed_by"] is None
    assert first_id != second_id and await state_of(api, gid, ada) == "held"


async def test_reports_open_one_case_that_later_reports_join(api: Api):
    _, ada = await api.member("ada")
    _, bob = await api.member("bob")
    _, cai = await api.member("cai")
    _, reviewer = await enrol(api, "reviewer")
    gid = await published(api, ada, "a sunny beach")

    first = await api.call("POST", f"/generations/{gid}/reports", bob, expect=201,
                           json={"category": "violence", "text": "there is a fight"})
    second = await api.call("POST", f"/generations/{gid}/reports", cai, expect=201,
                            json={"category": "spam"})
    assert first["case_id"] == second["case_id"]
    await api.call("POST", f"/generations/{gid}/reports", ada, expect=422,
                   json={"category": "spam"})  # not one's own video
    await api.call("POST", f"/generations/{gid}/reports", bob, expect=422,
                   json={"category": "not-a-category"})

    case = await api.call("GET", f"/review/cases/{first['case_id']}", reviewer)
    assert case["report_count"] == 2 and case["priority"] == "normal"
    assert [(r["category"], r["text"]) for r in case["reports"]] == [
        ("violence", "there is a fight"), ("spam", "")]

    await api.call("POST", f"/review/cases/{first['case_id']}/claim", reviewer)
    await api.call("POST", f"/review/cases/{first['case_id']}/decision", reviewer,
                   json={"decision": "remove", "policy_code": "SAFETY-1"})
    assert await state_of(api, gid, ada) == "taken_down"


async def test_an_urgent_report_goes_to_the_front_of_the_queue(api: Api):
    _, ada = await api.member("ada")
    _, bob = await api.member("bob")
    _, reviewer = await enrol(api, "reviewer")
    await held(api, ada, "a stormy sea", "high")
    gid = await published(api, ada, "a school trip")
    urgent = await api.call("POST", f"/generations/{gid}/reports", bob, expect=201,
                            json={"category": "minors"})
    queue = await api.call("GET", "/review/cases", reviewer)
    assert queue["items"][0]["id"] == urgent["case_id"]
    assert queue["items"][0]["priority"] == "urgent"


async def test_escalation_moves_a_case_to_the_front_and_frees_it_when_asked(api: Api):
    _, ada = await api.member("ada")
    _, reviewer = await enrol(api, "reviewer")
    _, other = await enrol(api, "rival")
    senior = await api.call("POST", "/admin/staff", api.admin, expect=201,
                            json={"name": "senior", "role": "reviewer", "grade": "senior"})
    await held(api, ada, "a city at night", "high")
    _, low = await held(api, ada, "a forest path", "low")
    await api.call("POST", f"/review/cases/{low}/claim", reviewer)
    stolen = await api.call("POST", f"/review/cases/{low}/escalate", other, expect=403,
                            json={"reason": "mine now"})
    assert "claimed by another reviewer" in stolen["detail"]
    moved = await api.call("POST", f"/review/cases/{low}/escalate", reviewer,
                           json={"reason": "needs a policy lead"})
    # To the senior queue, which a reviewer does not work: the claim goes with the move.
    assert moved["escalated"] and moved["queue"] == "senior" and moved["claimed_by"] is None
    await api.call("POST", f"/review/cases/{low}/claim", senior["secret"])
    kept = await api.call("POST", f"/review/cases/{low}/escalate", senior["secret"],
                          json={"reason": "no queue above: I keep it"})
    assert kept["claimed_by"] == senior["id"]
    escalated = await api.call("POST", f"/review/cases/{low}/escalate", senior["secret"],
                               json={"reason": "handing it over", "release": True})
    assert escalated["escalated"] and escalated["claimed_by"] is None
    queue = await api.call("GET", "/review/cases", senior["secret"])
    assert queue["items"][0]["id"] == low and queue["items"][0]["priority"] == "urgent"
