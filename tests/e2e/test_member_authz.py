"""Every member-facing endpoint refuses callers it is not for: no credential → 401; a
principal of the wrong kind → 403; another member's private objects → 404."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests.e2e.conftest import Api

MEMBER_ONLY = [
    ("GET", "/members/me", None),
    ("POST", "/members/{other}/follow", None),
    ("GET", "/cameo", None),
    ("POST", "/cameo/enable", {"permission": "everyone"}),
    ("POST", "/cameo/disable", None),
    ("POST", "/cameo/permission", {"permission": "mutuals"}),
    ("POST", "/cameo/approvals", {"member_id": "{other}"}),
    ("DELETE", "/cameo/approvals/{other}", None),
    ("POST", "/cameo/blocks", {"member_id": "{other}"}),
    ("DELETE", "/cameo/blocks/{other}", None),
    ("POST", "/cameo/restrictions", {"forbidden_categories": ["violence"]}),
    ("GET", "/cameo/appearances", None),
    ("GET", "/identity", None),
    ("POST", "/identity/verifications", None),
    ("POST", "/generations", {"prompt": "a kite", "seconds": 5}),
    ("GET", "/generations/mine", None),
]


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body"), MEMBER_ONLY)
async def test_member_endpoints_need_a_credential(api: Api, method: str, path: str,
                                                  body: Any):
    other, _ = await api.member("other", verified=False)
    ids = {"other": other}
    response = await api.client.request(method, fill(path, ids), json=fill(body, ids))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize(("method", "path", "body"), MEMBER_ONLY)
async def test_member_endpoints_refuse_a_reviewer(api: Api, method: str, path: str,
                                                  body: Any):
    other, _ = await api.member("other", verified=False)
    reviewer = api.container.app.enrol_staff(api.container.app.authenticate(api.admin),
                                             "rev", "reviewer")["secret"]
    ids = {"other": other}
    response = await api.client.request(method, fill(path, ids), json=fill(body, ids),
                                        headers=api.auth(reviewer))
    assert response.status_code == 403, response.text


async def test_another_members_draft_is_not_found(api: Api):
    _, author = await api.member("author")
    _, stranger = await api.member("stranger")
    made = await api.call("POST", "/generations", author, json={"prompt": "a kite",
                                                                 "seconds": 5})
    gid = made["generation_id"]
    assert (await api.client.get(f"/generations/{gid}", headers=api.auth(stranger))
            ).status_code == 404
    assert (await api.client.delete(f"/generations/{gid}", headers=api.auth(stranger))
            ).status_code == 404
    assert (await api.client.delete(f"/cameo/appearances/{gid}", headers=api.auth(stranger))
            ).status_code == 404
    assert (await api.client.get(f"/generations/{gid}", headers=api.auth(author))
            ).status_code == 200


async def test_only_admins_change_tiers(api: Api):
    target, member = await api.member("target", verified=False)
    refused = await api.client.post(f"/members/{target}/tier", json={"tier": "pro"},
                                    headers=api.auth(member))
    assert refused.status_code == 403
    await api.call("POST", f"/members/{target}/tier", api.admin, json={"tier": "pro"})


async def test_a_revoked_key_is_refused_at_once(api: Api):
    member_id, token = await api.member("keyed", verified=False)
    key_id = token.split(".")[2]
    api.container.app.revoke_key(api.container.app.authenticate(api.admin),
                                 UUID(member_id), key_id)
    assert (await api.client.get("/members/me", headers=api.auth(token))).status_code == 401
