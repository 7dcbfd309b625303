"""Admin endpoints over HTTP: staff enrolment and roles, keys of any principal, member
suspension, and the audit log (which never shows a secret)."""

from __future__ import annotations

from uuid import UUID

from domain.aggregate import hash_secret
from tests.e2e.conftest import Api


def principal_of(token: str) -> str:
    return str(UUID(hex=token.split(".")[1]))


async def test_an_enrolled_reviewers_keys_work_until_revoked(api: Api):
    staff = await api.call("POST", "/admin/staff", api.admin, expect=201,
                           json={"name": "rita", "role": "reviewer"})
    first = staff["secret"]
    await api.call("GET", "/review/cases", first)
    await api.call("GET", "/admin/audit/" + staff["id"], first, expect=403)

    issued = await api.call("POST", f"/admin/principals/{staff['id']}/keys", api.admin,
                            expect=201, json={"label": "laptop"})
    second = issued["secret"]
    await api.call("GET", "/review/cases", second)

    await api.call("DELETE", f"/admin/principals/{staff['id']}/keys/{first.split('.')[2]}",
                   api.admin)
    await api.call("GET", "/review/cases", first, expect=401)
    await api.call("GET", "/review/cases", second)


async def test_a_retried_enrolment_returns_the_same_secret_only_within_the_window(api: Api):
    headers = {"Idempotency-Key": "enrol-1"}
    body = {"name": "sam", "role": "reviewer"}
    first = await api.call("POST", "/admin/staff", api.admin, headers=headers, json=body)
    again = await api.call("POST", "/admin/staff", api.admin, headers=headers, json=body)
    assert again["id"] == first["id"] and again["secret"] == first["secret"]
    api.clock.advance(minutes=25)  # two replay windows later the sealed copy is unreadable
    later = await api.call("POST", "/admin/staff", api.admin, headers=headers, json=body)
    assert later["id"] == first["id"]
    assert later["secret"] is None and later["secret_redacted"]


async def test_a_role_change_takes_effect_on_the_next_request(api: Api):
    staff = await api.call("POST", "/admin/staff", api.admin, expect=201,
                           json={"name": "lee", "role": "reviewer"})
    await api.call("POST", "/admin/staff", staff["secret"], expect=403,
                   json={"name": "x", "role": "admin"})
    changed = await api.call("POST", f"/admin/staff/{staff['id']}/role", api.admin,
                             json={"role": "admin"})
    assert changed["status"] == "admin"
    await api.call("POST", "/admin/staff", staff["secret"], expect=201,
                   json={"name": "x", "role": "reviewer"})
    await api.call("POST", f"/admin/staff/{staff['id']}/role", api.admin, expect=400,
                   json={"role": "member"})


async def test_a_suspended_member_is_locked_out_until_reinstated(api: Api):
    member_id, token = await api.member("ada", verified=False)
    await api.call("POST", f"/admin/members/{member_id}/suspend", api.admin,
                   json={"reason": "spam"})
    problem = await api.call("POST", "/members/me/invites", token, expect=403,
                             json={"count": 1})
    assert "suspended" in problem["detail"]
    assert (await api.call("GET", "/members/me", token))["suspended"] is True
    await api.call("POST", f"/admin/members/{member_id}/suspend", api.admin, expect=409,
                   json={"reason": "again"})
    await api.call("POST", f"/admin/members/{member_id}/reinstate", api.admin)
    me = await api.call("GET", "/members/me", token)
    assert me["suspended"] is False


async def test_the_audit_log_shows_who_did_what_and_never_a_secret(api: Api):
    admin_id = principal_of(api.admin)
    member_id, token = await api.member("bob", verified=False)
    await api.call("POST", f"/admin/members/{member_id}/suspend", api.admin,
                   json={"reason": "spam"})
    issued = await api.call("POST", f"/admin/principals/{member_id}/keys", api.admin,
                            expect=201, json={"label": "support"})

    history = await api.call("GET", f"/admin/audit/{member_id}", api.admin)
    events = [(e["aggregate_type"], e["event"], e["actor_role"]) for e in history["items"]]
    assert events == [("Member", "Registered", "member"), ("Member", "KeyIssued", "member"),
                      ("Member", "Suspended", "admin"), ("Member", "KeyIssued", "admin")]
    assert history["items"][2]["summary"] == {"reason": "spam"}
    assert history["items"][3]["summary"]["secret_digest"] == "[redacted]"
    text = str(history)
    for token_text in (token, issued["secret"]):
        secret = token_text.split(".")[3]
        assert secret not in text and hash_secret(secret) not in text

    mine = await api.call("GET", f"/admin/audit?actor={admin_id}&limit=2", api.admin)
    assert [e["event"] for e in mine["items"]] == ["KeyIssued", "Suspended"]
    assert all(e["actor_id"] == admin_id for e in mine["items"]) and mine["next_cursor"]
    more = await api.call("GET", f"/admin/audit?actor={admin_id}&cursor={mine['next_cursor']}",
                          api.admin)
    assert more["items"] and more["items"][0]["position"] < mine["items"][-1]["position"]
