"""The review console over plain HTTP: sign-in for a session cookie (HttpOnly,
SameSite=Strict), CSRF tokens on every form, expiry and sign-out, the pages of a case, and
untrusted text escaped. The browser journey is in tests/browser."""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import Api
from tests.e2e.review_helpers import held_with_media, staff

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def sign_in(api: Api, key: str) -> httpx.Response:
    page = await api.client.get("/console/sign-in")
    token = CSRF.search(page.text)
    assert page.status_code == 200 and token
    return await api.client.post("/console/sign-in",
                                 data={"csrf": token[1], "key": key, "next": "/console/"})


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found[1]


async def test_a_session_cookie_for_a_key_and_a_csrf_token_on_every_form(api: Api):
    _, ada = await api.member("ada")
    _, reviewer = await staff(api, "rev")
    _, case_id, _ = await held_with_media(api, ada, 'a <script>alert("x")</script> party')

    away = await api.client.get("/console/")
    assert away.status_code == 303 and away.headers["location"].startswith(
        "/console/sign-in")
    refused = await sign_in(api, ada)  # a member's key is no staff key
    assert refused.status_code == 403 and "forbidden" in refused.text

    signed = await sign_in(api, reviewer)
    assert signed.status_code == 303 and signed.headers["location"] == "/console/"
    cookie = next(h for h in signed.headers.get_list("set-cookie")
                  if h.startswith("consentry_console="))
    assert all(flag in cookie.lower() for flag in ("httponly", "samesite=strict",
                                                     "path=/console"))
    overview = await api.client.get("/console/")
    assert overview.status_code == 200 and "Safety" in overview.text
    assert overview.headers["content-security-policy"].startswith("default-src 'self'")

    page = await api.client.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
    token = csrf_of(page)

    forged = await api.client.post(f"/console/cases/{case_id}/claim", data={})
    assert forged.status_code == 403 and "csrf-failed" in forged.text
    wrong = await api.client.post(f"/console/cases/{case_id}/claim",
                                  data={"csrf": "0" * 64})
    assert wrong.status_code == 403 and "csrf-failed" in wrong.text
    case = await api.call("GET", f"/review/cases/{case_id}", reviewer)
    assert case["claimed_by"] is None  # nothing happened

    claimed = await api.client.post(f"/console/cases/{case_id}/claim", data={"csrf": token})
    assert claimed.status_code == 303
    decided = await api.client.post(f"/console/cases/{case_id}/decide",
                                    data={"csrf": token, "decision": "remove",
                                          "policy_code": "OK-1"})
    assert decided.status_code == 422 and "policy-not-allowed" in decided.text
    decided = await api.client.post(f"/console/cases/{case_id}/decide",
                                    data={"csrf": token, "decision": "remove",
                                          "policy_code": "SAFETY-1"})
    assert decided.status_code == 303
    case = await api.call("GET", f"/review/cases/{case_id}", reviewer)
    assert (case["decision"], case["policy_code"]) == ("remove", "SAFETY-1")


async def test_an_expired_or_closed_session_is_refused(api: Api):
    _, ada = await api.member("ada")
    _, reviewer = await staff(api, "rev")
    _, case_id, _ = await held_with_media(api, ada)
    await sign_in(api, reviewer)
    page = await api.client.get(f"/console/cases/{case_id}")
    token = csrf_of(page)

    api.clock.advance(hours=8, seconds=1)
    posted = await api.client.post(f"/console/cases/{case_id}/claim", data={"csrf": token})
    assert posted.status_code == 401 and "session-expired" in posted.text
    expired = await api.client.get(f"/console/cases/{case_id}")
    assert expired.status_code == 303 and "expired=1" in expired.headers["location"]
    assert "consentry_console" not in api.client.cookies  # the page dropped it
    assert (await api.call("GET", f"/review/cases/{case_id}", reviewer))["claimed_by"] is None

    await sign_in(api, reviewer)
    page = await api.client.get("/console/")
    kept = api.client.cookies.get("consentry_console", path="/console")
    out = await api.client.post("/console/sign-out", data={"csrf": csrf_of(page)})
    assert out.status_code == 303
    api.client.cookies.set("consentry_console", kept, path="/console")  # replayed
    closed = await api.client.get("/console/")
    assert closed.status_code == 303 and closed.headers["location"].startswith(
        "/console/sign-in")


async def test_admin_pages_change_the_configuration_through_forms(api: Api):
    _, reviewer = await staff(api, "rev")
    admin_signed = await sign_in(api, api.admin)
    assert admin_signed.status_code == 303
    page = await api.client.get("/console/admin")
    assert page.status_code == 200 and "SAFETY-1" in page.text
    token = csrf_of(page)
    added = await api.client.post("/console/admin/policy", data={
        "csrf": token, "code": "HATE-1", "title": "Hate", "description": "Slurs.",
        "severity": "4", "actions": ["remove", "restrict"]})
    assert added.status_code == 303
    config = await api.call("GET", "/review/config", reviewer)
    assert {p["code"]: p["actions"] for p in config["policies"]}["HATE-1"] == [
        "remove", "restrict"]
    busy = await api.client.post("/console/admin/delete-queue",
                                 data={"csrf": token, "name": "likeness"})
    assert busy.status_code == 409 and "queue-in-use" in busy.text
    bad = await api.client.post("/console/admin/strikes", data={
        "csrf": token, "min_severity": "x", "limit": "2", "lifetime_days": "1",
        "suspension_days": "1"})
    assert bad.status_code == 422
    for path in ("/console/statistics", "/console/audit", "/console/me"):
        assert (await api.client.get(path)).status_code == 200, path

    api.client.cookies.clear()
    await sign_in(api, reviewer)
    assert (await api.client.get("/console/admin")).status_code == 403
    assert (await api.client.get("/console/me")).status_code == 200
