"""A real `consentry serve` killed (SIGKILL) between an event's commit and its delivery still
delivers it after a restart, once; so does an event committed while no server ran: the
delivery process's position is durable and its deliveries are stored with it."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from domain.actors import Actor, Role
from tests.e2e.test_two_api_processes import Deployment as _Deployment
from tests.e2e.test_two_api_processes import Server, call, start, stop, verified_member
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def setup(pg_schema: tuple[str, str], redis_url: str, tmp_path: Path
          ) -> Iterator[tuple[dict[str, str], Any]]:
    dsn, schema = pg_schema
    container = bootstrap(Settings(store="postgres", pg_dsn=dsn, pg_schema=schema,
                                   data_dir=tmp_path))
    env = {"CONSENTRY_STORE": "postgres", "CONSENTRY_PG_DSN": dsn,
           "CONSENTRY_PG_SCHEMA": schema, "CONSENTRY_DATA_DIR": str(tmp_path),
           # jobs wait in Redis (no worker): this test decides the verification itself
           "CONSENTRY_QUEUE": "arq", "CONSENTRY_REDIS_URL": redis_url,
           "CONSENTRY_QUEUE_NAME": f"test-jobs-{uuid.uuid4().hex}",
           "CONSENTRY_WEBHOOKS_ALLOW_PRIVATE": "1", "CONSENTRY_WEBHOOK_TIMEOUT": "2",
           "CONSENTRY_WEBHOOK_RETRY_SCHEDULE": "0.2,0.5,1"}
    try:
        yield env, container
    finally:
        container.close()


def kill(server: Server) -> None:
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)


def test_a_server_killed_between_commit_and_delivery_still_delivers(
        setup: tuple[dict[str, str], Any], tmp_path: Path):
    env, container = setup
    receiver = Receiver()
    server = start(env, tmp_path / "first.log")
    try:
        admin = container.app.create_first_admin("root")["secret"]
        d = _Deployment(server, server, container, admin)
        holder = call(server, "POST", "/rights-holders", admin, expect=201,
                      json={"name": "Studio", "proof": "ref"})["secret"]
        call(server, "POST", "/webhooks/endpoints", holder, expect=201,
             json={"url": receiver.url, "event_types": ["work.used"]})
        work = call(server, "POST", "/works", holder, expect=201,
                    json={"title": "Zorblax", "kind": "character", "aliases": ["zorblax"]})
        call(server, "POST", f"/works/{work['id']}/grants", holder, expect=201,
             json={"audience": "everyone"})
        member_id, token = verified_member(d, "ada")

        receiver.hold.set()  # the first attempt reaches the receiver and is never answered
        call(server, "POST", "/generations", token, expect=201,
             json={"prompt": "zorblax dances in the rain", "seconds": 3})
        receiver.wait_for(lambda: len(receiver.received) == 1)
        kill(server)
    finally:
        stop(server)

    # while no server runs, another use of the work is committed
    ada = Actor(member_id, Role.MEMBER)
    container.app.request_generation(ada, "zorblax sings at dawn", (), 3)
    receiver.hold.clear()
    server = start(env, tmp_path / "second.log")
    try:
        receiver.wait_for(lambda: len({r.message_id for r in receiver.accepted()}) == 2,
                          timeout=60)
        accepted = [r.message_id for r in receiver.accepted()]
        assert len(accepted) == 2, accepted  # one accepted delivery per message
        assert receiver.received[0].message_id in accepted  # the one in flight at the kill
        generations = {r.json()["data"]["generation_id"] for r in receiver.accepted()}
        assert len(generations) == 2 and all(UUID(g) for g in generations)
    finally:
        stop(server)
        receiver.close()
