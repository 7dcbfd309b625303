"""Generation requests and identity verifications are rate limited per principal."""

from __future__ import annotations

from tests.e2e.conftest import Api


async def test_the_sixth_verification_within_an_hour_is_refused_with_429(api: Api):
    _, token = await api.member("rater", verified=False)
    for _ in range(5):
        await api.call("POST", "/identity/verifications", token)
    refused = await api.client.post("/identity/verifications", headers=api.auth(token))
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate-limited" and refused.json()["retry_after"] > 0


async def test_generation_requests_beyond_the_rate_are_refused_but_others_are_not(api: Api):
    _, busy = await api.member("busy")
    _, calm = await api.member("calm")
    statuses = [(await api.client.post("/generations", headers=api.auth(busy),
                                       json={"prompt": f"scene {i}", "seconds": 5})).status_code
                for i in range(31)]
    assert statuses[-1] == 429 and 429 not in statuses[:30]
    ok = await api.client.post("/generations", headers=api.auth(calm),
                               json={"prompt": "a calm sea", "seconds": 5})
    assert ok.status_code == 201
