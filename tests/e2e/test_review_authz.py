"""Every review, report and admin endpoint refuses the principals it is not for: no
credential (401), the wrong role or the wrong person (403), or something they may not know
exists (404); and a refused request writes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.actors import SYSTEM
from tests.e2e.conftest import Api
from tests.e2e.test_journey_review import EVIDENCE, enrol


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # placeholders filled from Scene.ids
    denied: tuple[tuple[str, int], ...]  # (principal, status)
    stage: str = "open"  # open | claimed | decided | appealed | published
    body: dict[str, Any] | None = None


STRANGERS = (("nobody", 401), ("member", 403), ("rights_holder", 403))
NOT_ADMIN = (*STRANGERS, ("reviewer", 403))
DECISION = {"decision": "remove", "policy_code": "SAFETY-1"}

ENDPOINTS = {
    "listReviewCases": Endpoint("GET", "/review/cases", STRANGERS),
    "getReviewCase": Endpoint("GET", "/review/cases/{case}", (
        *STRANGERS, ("author", 403), ("own_reviewer", 403))),
    "getReviewCase-unknown": Endpoint("GET", "/review/cases/{unknown}", (("reviewer", 404),)),
    "claimReviewCase": Endpoint("POST", "/review/cases/{case}/claim", (
        *STRANGERS, ("author", 403), ("reviewer", 403), ("own_reviewer", 403)),
        stage="claimed"),
    "releaseReviewCase": Endpoint("POST", "/review/cases/{case}/release", (
        *STRANGERS, ("author", 403), ("reviewer", 403)), stage="claimed"),
    "commentOnReviewCase": Endpoint("POST", "/review/cases/{case}/comments", (
        *STRANGERS, ("author", 403), ("own_reviewer", 403)),
        body={"text": "a note", "visibility": "author"}),
    "escalateReviewCase": Endpoint("POST", "/review/cases/{case}/escalate", (
        *STRANGERS, ("author", 403), ("own_reviewer", 403)), body={"reason": "unsure"}),
    "decideReviewCase": Endpoint("POST", "/review/cases/{case}/decision", (
        *STRANGERS, ("author", 403), ("reviewer", 403), ("own_reviewer", 403)),
        stage="claimed", body=DECISION),
    "decideAppeal": Endpoint("POST", "/review/cases/{case}/appeal-decision", (
        *STRANGERS, ("author", 403), ("claimant", 403), ("own_reviewer", 403)),
        stage="appealed", body={"decision": "approve", "policy_code": "OK-1"}),
    "appealReviewCase": Endpoint("POST", "/review/cases/{case}/appeal", (
        *STRANGERS, ("claimant", 403), ("own_reviewer", 403)),
        stage="decided", body={"text": "please look again"}),
    "listMyCases": Endpoint("GET", "/members/me/cases", (
        ("nobody", 401), ("rights_holder", 403), ("reviewer", 403))),
    "reportGeneration": Endpoint("POST", "/generations/{published}/reports", (
        ("nobody", 401), ("rights_holder", 403), ("reviewer", 403)),
        stage="published", body={"category": "spam"}),
    "reportGeneration-held": Endpoint("POST", "/generations/{held}/reports", (
        ("member", 404),), body={"category": "spam"}),
    "enrolStaff": Endpoint("POST", "/admin/staff", NOT_ADMIN,
                           body={"name": "mallory", "role": "admin"}),
    "changeStaffRole": Endpoint("POST", "/admin/staff/{staff}/role", NOT_ADMIN,
                                body={"role": "admin"}),
    "issueKeyForPrincipal": Endpoint("POST", "/admin/principals/{principal}/keys",
                                     NOT_ADMIN, body={"label": "stolen"}),
    "revokeKeyOfPrincipal": Endpoint("DELETE", "/admin/principals/{principal}/keys/{key}",
                                     NOT_ADMIN),
    "suspendMember": Endpoint("POST", "/admin/members/{principal}/suspend", NOT_ADMIN,
                              body={"reason": "spite"}),
    "reinstateMember": Endpoint("POST", "/admin/members/{principal}/reinstate", NOT_ADMIN),
    "getAuditHistory": Endpoint("GET", "/admin/audit/{case}", NOT_ADMIN),
    "listAuditByActor": Endpoint("GET", "/admin/audit?actor={principal}", NOT_ADMIN),
}


@dataclass
class Scene:
    tokens: dict[str, str | None] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)


async def build(api: Api, stage: str) -> Scene:
    """An author with a held generation (its case at `stage`; a published video too at
    stage `published`); a stranger member; a rights holder; the claimant, another reviewer,
    and a reviewer whose own member account is the author's."""
    scene = Scene()
    author_id, author = await api.member("author")
    stranger_id, stranger = await api.member("stranger", verified=False)
    staff_id, claimant = await enrol(api, "claimant")
    _, reviewer = await enrol(api, "reviewer")
    _, own_reviewer = await enrol(api, "author at work", member_id=author_id)
    holder = api.container.app.onboard_rights_holder(SYSTEM, "Studio", "registry-1")
    scene.tokens = {"nobody": None, "member": stranger, "author": author,
                    "rights_holder": holder["secret"], "claimant": claimant,
                    "reviewer": reviewer, "own_reviewer": own_reviewer}

    app = api.container.app
    made = await api.call("POST", "/generations", author, expect=201,
                          json={"prompt": "a harbour", "seconds": 5})
    gid = made["generation_id"]
    await api.worker(app.record_render, UUID(gid), "a" * 64, 48, 2.0, "w1", 1)
    case = (await api.worker(app.hold_generation, UUID(gid), ("SAFETY",), EVIDENCE,
                             "high"))["case_id"]
    if stage in ("claimed", "decided", "appealed"):
        await api.call("POST", f"/review/cases/{case}/claim", claimant)
    if stage in ("decided", "appealed"):
        await api.call("POST", f"/review/cases/{case}/decision", claimant, json=DECISION)
    if stage == "appealed":
        await api.call("POST", f"/review/cases/{case}/appeal", author,
                       json={"text": "it is fine"})
    scene.ids = {"case": case, "held": gid, "staff": staff_id, "principal": stranger_id,
                 "key": stranger.split(".")[2], "unknown": str(uuid4())}
    if stage == "published":
        video = await api.call("POST", "/generations", author, expect=201,
                               json={"prompt": "a beach", "seconds": 5})
        await api.publish(video["generation_id"])
        scene.ids["published"] = video["generation_id"]
    return scene


@pytest.mark.parametrize("operation", list(ENDPOINTS))
async def test_the_endpoint_refuses_principals_it_is_not_for(api: Api, operation: str):
    endpoint = ENDPOINTS[operation]
    scene = await build(api, endpoint.stage)
    path = endpoint.path.format(**scene.ids)
    events_before = api.container.app.recorder.max_notification_id()
    for principal, status in endpoint.denied:
        kwargs = {"json": endpoint.body} if endpoint.body is not None else {}
        problem = await api.call(endpoint.method, path, scene.tokens[principal],
                                 expect=status, **kwargs)
        assert problem["status"] == status, (principal, problem)
    assert api.container.app.recorder.max_notification_id() == events_before
