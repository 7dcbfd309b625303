"""Object-level authorisation of the consent API: for every endpoint, a caller without a
credential gets 401, a member 403, and another rights holder 404 for the first one's works
and grants (as if they did not exist) or 403 for admin-only endpoints; nothing changes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest

from tests.e2e.conftest import Api
from tests.e2e.test_journey_rights_holder import png


@dataclass
class Studios:
    owner: str
    owner_key_id: str
    work_id: str
    grant_id: str
    other: str
    other_id: str
    member: str


@pytest.fixture
async def studios(api: Api) -> Studios:
    owner = await api.call("POST", "/rights-holders", api.admin, expect=201,
                           json={"name": "Owner Studio", "proof": "ref-owner"})
    other = await api.call("POST", "/rights-holders", api.admin, expect=201,
                           json={"name": "Other Studio", "proof": "ref-other"})
    work = await api.call("POST", "/works", owner["secret"], expect=201,
                          json={"title": "Owner Mascot Bear", "kind": "character"})
    await api.call("POST", f"/works/{work['id']}/references", owner["secret"], expect=201,
                   content=png(), headers={"content-type": "image/png"})
    grant = await api.call("POST", f"/works/{work['id']}/grants", owner["secret"],
                           expect=201, json={"audience": "everyone"})
    _, member = await api.member("mia", verified=False)
    return Studios(owner["secret"], owner["key_id"], work["id"], grant["id"],
                   other["secret"], other["id"], member)


GRANT_TERMS = {"audience": "members", "members": [str(uuid4())]}

# (method, path, request kwargs, what another rights holder gets)
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any], int]] = {
    "onboardRightsHolder": ("POST", "/rights-holders",
                            {"json": {"name": "Sneaky", "proof": "none"}}, 403),
    "listRightsHolders": ("GET", "/rights-holders", {}, 403),
    "getMyRightsHolder": ("GET", "/rights-holders/me", {}, 200),
    "issueRightsHolderKey": ("POST", "/rights-holders/me/keys",
                             {"json": {"label": "extra"}}, 201),
    "revokeRightsHolderKey": ("DELETE", "/rights-holders/me/keys/{key_id}", {}, 404),
    "registerWork": ("POST", "/works",
                     {"json": {"title": "Other Mascot Fox", "kind": "character"}}, 201),
    "listMyWorks": ("GET", "/works", {}, 200),
    "getWork": ("GET", "/works/{work_id}", {}, 404),
    "withdrawWork": ("POST", "/works/{work_id}/withdraw", {"json": {"reason": "x"}}, 404),
    "addWorkReference": ("POST", "/works/{work_id}/references",
                         {"content": png(rgb=(1, 2, 3)),
                          "headers": {"content-type": "image/png"}}, 404),
    "issueGrant": ("POST", "/works/{work_id}/grants", {"json": GRANT_TERMS}, 404),
    "listWorkGrants": ("GET", "/works/{work_id}/grants", {}, 404),
    "listWorkUsage": ("GET", "/works/{work_id}/usage", {}, 404),
    "getGrant": ("GET", "/grants/{grant_id}", {}, 404),
    "amendGrant": ("POST", "/grants/{grant_id}/amend", {"json": GRANT_TERMS}, 404),
    "revokeGrant": ("POST", "/grants/{grant_id}/revoke", {"json": {"reason": "x"}}, 404),
}


async def assert_owner_untouched(api: Api, s: Studios) -> None:
    me = await api.call("GET", "/rights-holders/me", s.owner)
    assert [k["key_id"] for k in me["keys"]] == [s.owner_key_id]
    work = await api.call("GET", f"/works/{s.work_id}", s.owner)
    assert (work["withdrawn"], len(work["references"]), work["grant_ids"]) == (
        False, 1, [s.grant_id])
    grant = await api.call("GET", f"/grants/{s.grant_id}", s.owner)
    assert (grant["status"], grant["audience"]) == ("active", "everyone")


@pytest.mark.parametrize("operation", list(ENDPOINTS))
async def test_only_the_owner_reaches_its_rights_data(api: Api, studios: Studios,
                                                      operation: str):
    method, template, kwargs, for_other = ENDPOINTS[operation]
    path = template.format(work_id=studios.work_id, grant_id=studios.grant_id,
                           key_id=studios.owner_key_id)

    anonymous = await api.call(method, path, None, expect=401, **kwargs)
    assert anonymous["code"] == "unauthenticated"
    member = await api.call(method, path, studios.member, expect=403, **kwargs)
    assert member["code"] == "forbidden"
    other = await api.call(method, path, studios.other, expect=for_other, **kwargs)
    if for_other == 404:
        assert other["code"] == "not-found"
    elif for_other == 403:
        assert other["code"] == "forbidden"
    else:  # endpoints scoped to the caller: the other studio only ever sees its own
        assert studios.work_id not in str(other) and studios.owner_key_id not in str(other)
    if operation == "getMyRightsHolder":
        assert other["id"] == studios.other_id

    await assert_owner_untouched(api, studios)
    if "content" in kwargs:  # refused uploads are not stored either
        assert not api.container.blobs.exists(hashlib.sha256(kwargs["content"]).hexdigest())


@pytest.mark.parametrize("template", ["/works/{id}", "/works/{id}/usage", "/grants/{id}"])
async def test_another_studios_object_looks_exactly_like_a_missing_one(api: Api,
                                                                      studios: Studios,
                                                                      template: str):
    real = studios.grant_id if template.startswith("/grants") else studios.work_id
    missing = str(uuid4())
    theirs = await api.call("GET", template.format(id=real), studios.other, expect=404)
    absent = await api.call("GET", template.format(id=missing), studios.other, expect=404)
    assert {**theirs, "id": None} == {**absent, "id": None}


async def test_an_admin_may_read_and_revoke_but_not_write_on_a_studios_behalf(api: Api,
                                                                             studios: Studios):
    await api.call("GET", f"/works/{studios.work_id}/usage", api.admin)
    await api.call("POST", f"/works/{studios.work_id}/grants", api.admin, expect=403,
                   json={"audience": "everyone"})
    await api.call("POST", "/works", api.admin, expect=403,
                   json={"title": "Admin Owned Thing", "kind": "brand"})
    revoked = await api.call("POST", f"/grants/{studios.grant_id}/revoke", api.admin,
                             json={"reason": "court order"})
    assert revoked["status"] == "revoked"
