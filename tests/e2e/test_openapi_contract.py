"""Schemathesis against the served OpenAPI description: generated requests to every
operation (as an authenticated member, and without credentials) never get a 5xx, never get
a status the description does not declare, and every response matches its declared schema
and media type (errors: application/problem+json)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from tests.fakes import World

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real server process on loopback with a verified member; yields (url, member key)."""
    data = tmp_path_factory.mktemp("fuzz")
    container = bootstrap(Settings(store="sqlite", data_dir=data))
    world = World(container.app)
    member = world.member(cameo="everyone")
    token = container.app.issue_key(member, UUID(member.id), "fuzz")["secret"]
    container.close()
    port = free_port()
    env = {**os.environ, "CONSENTRY_DATA_DIR": str(data), "CONSENTRY_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # it loads the prompt models first
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url, token
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_no_operation_fails_or_breaks_its_schema(served: tuple[str, str]) -> None:
    url, token = served
    schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    failures: dict[str, str] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case: schemathesis.Case) -> None:
            for headers in ({"Authorization": f"Bearer {token}"}, {}):
                case.call_and_validate(base_url=url, headers=headers, checks=[
                    not_a_server_error, status_code_conformance, content_type_conformance,
                    response_schema_conformance])

        try:
            exercise()
        except Exception as error:  # collect every operation's failure, then report them all
            failures[operation.label] = f"{type(error).__name__}: {error}"[:2000]
    assert failures == {}
