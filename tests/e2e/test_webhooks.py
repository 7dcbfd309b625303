"""Webhooks end to end (in process, on the embedded store): signed per Standard Webhooks and
verified here independently, retried until accepted (one accepted delivery per message),
visible and replayable through the API, refused for private targets, rotated with an
overlap, and the endpoint disabled after its deliveries failed every attempt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.bootstrap import bootstrap
from adapters.media_intake import MediaIntake
from adapters.settings import Settings
from api.app import close_state, create_app, open_state
from tests.e2e.conftest import Api
from tests.e2e.takedown_helpers import file_request, reviewer, takedown_case
from tests.e2e.test_provenance import published_video
from tests.fakes import FakeClock, HeldJobs
from tests.webhook_receiver import Receiver, verify

pytestmark = pytest.mark.e2e


@dataclass
class Hooks(Api):
    receiver: Receiver

    async def holder_with_endpoint(self, event_types: list[str], url: str | None = None
                                   ) -> tuple[str, str, str]:
        """A rights holder, its endpoint and that endpoint's secret."""
        holder = (await self.call("POST", "/rights-holders", self.admin, expect=201,
                                  json={"name": "Studio", "proof": "registry extract"}))["secret"]
        created = await self.call("POST", "/webhooks/endpoints", holder, expect=201,
                                  json={"url": url or self.receiver.url,
                                        "event_types": event_types})
        return holder, created["id"], created["secret"]

    async def work_used(self, holder: str, name: str = "zorblax") -> str:
        """Registers a work licensed to everyone and has a member use it: one `work.used`."""
        work = await self.call("POST", "/works", holder, expect=201,
                               json={"title": name.title(), "kind": "character",
                                     "aliases": [name]})
        await self.call("POST", f"/works/{work['id']}/grants", holder, expect=201,
                        json={"audience": "everyone"})
        _, token = await self.member(f"fan_{name}")
        made = await self.call("POST", "/generations", token, expect=201,
                               json={"prompt": f"{name} dances in the rain", "seconds": 3})
        return str(made["generation_id"])


def settings_for(tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {"webhooks_allow_private": True,
                              "webhook_retry_schedule": (0.05, 0.1, 0.2),
                              "webhook_timeout": 2.0, **extra}
    return Settings(store="sqlite", data_dir=tmp_path, **values)


@pytest.fixture
async def hooks(tmp_path: Path, media_intake: MediaIntake) -> AsyncIterator[Hooks]:
    clock = FakeClock()
    container = bootstrap(settings_for(tmp_path), clock=clock, media_intake=media_intake)
    admin = container.app.create_first_admin("root")["secret"]
    app = create_app(container)
    await open_state(app, container, jobs=HeldJobs())
    receiver = Receiver()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Hooks(client, container, clock, admin, receiver)
    receiver.close()
    await close_state(app)
    container.close()


async def test_a_delivery_is_signed_per_standard_webhooks(hooks: Hooks):
    holder, _, secret = await hooks.holder_with_endpoint(["work.used"])
    assert secret.startswith("whsec_")
    generation_id = await hooks.work_used(holder)

    await hooks.receiver.until(lambda: len(hooks.receiver.accepted()) == 1)
    got = hooks.receiver.accepted()[0]
    assert verify(secret, got.headers, got.body), got.headers
    assert not verify("whsec_" + "A" * 44, got.headers, got.body)
    assert not verify(secret, got.headers, got.body.replace("named", "visual"))
    payload = got.json()
    assert payload["type"] == "work.used"
    assert payload["data"]["generation_id"] == generation_id
    assert payload["data"]["how"] == "named"


async def test_a_receiver_failing_three_times_gets_one_accepted_delivery_per_message(
        hooks: Hooks):
    hooks.receiver.fail_first = 3
    holder, endpoint_id, _ = await hooks.holder_with_endpoint(["work.used"])
    await hooks.work_used(holder)

    await hooks.receiver.until(lambda: len(hooks.receiver.accepted()) == 1)
    ids = [r.message_id for r in hooks.receiver.received]
    assert len(ids) == 4 and len(set(ids)) == 1, ids  # the same webhook-id every time
    assert [r.answered for r in hooks.receiver.received] == [500, 500, 500, 200]
    # the sender records the answer once the response is back, a moment after the
    # receiver saw the request
    path, deadline = f"/webhooks/endpoints/{endpoint_id}/deliveries", time.monotonic() + 20
    [delivery] = (await hooks.call("GET", path, holder))["items"]
    while delivery["status"] == "pending" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # polling the delivery's state, with a deadline
        [delivery] = (await hooks.call("GET", path, holder))["items"]
    assert delivery["status"] == "delivered" and delivery["attempt_count"] == 4
    detail = await hooks.call("GET", f"/webhooks/deliveries/{delivery['id']}", holder)
    assert [a["status_code"] for a in detail["attempts"]] == [500, 500, 500, 200]

    # a replay sends the same message again, with the same id
    await hooks.call("POST", f"/webhooks/deliveries/{delivery['id']}/replays", holder,
                     expect=202)
    await hooks.receiver.until(lambda: len(hooks.receiver.received) == 5)
    assert hooks.receiver.received[-1].message_id == ids[0]
    other = (await hooks.call("POST", "/rights-holders", hooks.admin, expect=201,
                              json={"name": "Other", "proof": "x"}))["secret"]
    await hooks.call("GET", f"/webhooks/deliveries/{delivery['id']}", other, expect=404)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hooks", "https://127.0.0.1/hooks", "https://localhost/hooks",
    "https://10.1.2.3/hooks", "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hooks", "https://[::ffff:127.0.0.1]/hooks", "https://0.0.0.0/hooks",
    "ftp://example.com/hooks", "https://user:pw@example.com/hooks"])
async def test_private_and_odd_targets_are_refused(tmp_path: Path, media_intake: MediaIntake,
                                                   url: str):
    container = bootstrap(Settings(store="memory", data_dir=tmp_path),
                          media_intake=media_intake)
    admin = container.app.create_first_admin("root")["secret"]
    app = create_app(container)
    await open_state(app, container, jobs=HeldJobs())
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/webhooks/endpoints", json={
                "url": url, "event_types": ["cameo.appearance"]},
                headers={"Authorization": f"Bearer {admin}"})
        assert response.status_code == 422, response.text
        assert response.json()["code"] in ("webhook-target-refused", "invalid-input")
    finally:
        await close_state(app)
        container.close()


async def test_a_rotated_secret_overlaps_the_previous_one(hooks: Hooks):
    holder, endpoint_id, old = await hooks.holder_with_endpoint(["work.used"])
    rotated = await hooks.call("POST", f"/webhooks/endpoints/{endpoint_id}/secret-rotations",
                               holder, expect=201, json={"overlap_seconds": 3600})
    new = rotated["secret"]
    assert new != old
    await hooks.work_used(holder)

    await hooks.receiver.until(lambda: len(hooks.receiver.accepted()) == 1)
    got = hooks.receiver.accepted()[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert verify(new, got.headers, got.body) and verify(old, got.headers, got.body)


async def test_an_endpoint_that_never_accepts_is_disabled_with_the_reason(hooks: Hooks):
    hooks.receiver.fail_first = 1000
    holder, endpoint_id, _ = await hooks.holder_with_endpoint(["work.used"])
    await hooks.work_used(holder)

    await hooks.receiver.until(lambda: len(hooks.receiver.received) == 4)  # 1 + 3 retries
    deadline = time.monotonic() + 20
    endpoint = await hooks.call("GET", f"/webhooks/endpoints/{endpoint_id}", holder)
    while endpoint["enabled"] and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # polling the endpoint's state, with a deadline
        endpoint = await hooks.call("GET", f"/webhooks/endpoints/{endpoint_id}", holder)
    assert not endpoint["enabled"]
    assert "failed every attempt" in endpoint["disabled_reason"]
    page = await hooks.call("GET", f"/webhooks/endpoints/{endpoint_id}/deliveries", holder)
    assert page["items"][0]["status"] == "failed"


async def test_a_client_app_hears_of_a_cameo_appearance_in_a_draft(hooks: Hooks):
    created = await hooks.call("POST", "/webhooks/endpoints", hooks.admin, expect=201,
                               json={"url": hooks.receiver.url,
                                     "event_types": ["cameo.appearance"]})
    ada, ada_token = await hooks.member("ada")
    bea, bea_token = await hooks.member("bea")
    await hooks.call("POST", "/cameo/enable", bea_token, json={"permission": "everyone"})
    made = await hooks.call("POST", "/generations", ada_token, expect=201, json={
        "prompt": "two friends at the beach", "seconds": 3, "cameo_owner_ids": [bea]})

    await hooks.receiver.until(lambda: len(hooks.receiver.accepted()) == 1)
    got = hooks.receiver.accepted()[0]
    assert verify(created["secret"], got.headers, got.body)
    assert got.json()["data"] == {"member_id": bea, "generation_id": made["generation_id"],
                                  "stage": "draft", "by_member_id": ada, "by_handle": "ada"}


async def test_a_client_app_hears_what_a_takedown_request_removed(hooks: Hooks):
    created = await hooks.call("POST", "/webhooks/endpoints", hooks.admin, expect=201,
                               json={"url": hooks.receiver.url,
                                     "event_types": ["takedown_request.actioned"]})
    gid, _ = await published_video(hooks, "lumen")
    filed = await file_request(hooks, gid)
    rita = await reviewer(hooks)
    case = await takedown_case(hooks, rita, gid)
    await hooks.call("POST", f"/review/cases/{case['id']}/claim", rita)
    await hooks.call("POST", f"/review/takedown-requests/{filed['reference']}/decision", rita,
                     json={"valid": True, "policy_code": "NCII-1"})

    await hooks.receiver.until(lambda: len(hooks.receiver.accepted()) == 1)
    got = hooks.receiver.accepted()[0]
    assert verify(created["secret"], got.headers, got.body)
    payload = got.json()
    assert payload["type"] == "takedown_request.actioned"
    assert payload["data"]["reference"] == filed["reference"]
    assert payload["data"]["removed_generation_ids"] == [gid]
    assert payload["data"]["category"] == "intimate_imagery"
    assert "contact" not in got.body and "signature" not in payload["data"]
