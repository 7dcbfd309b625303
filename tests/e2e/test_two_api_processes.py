"""Two API processes on one PostgreSQL, as production runs them (real `consentry serve`
processes): a work registered, a cameo restricted and a block added through one are
enforced by the other on its very next request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from tests.fakes import WORKER
from tests.verification_media import placeholder_video

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(env: dict[str, str], log: Path, *args: str, timeout: float = 90.0) -> Server:
    """`consentry serve` (with `args`) on a free loopback port, once it answers /health."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *args], cwd=ROOT,
            env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{server.tail()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1.0).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)  # polling for the port to open, not waiting to assert
    pytest.fail(f"the server did not answer within {timeout:.0f} s:\n{server.tail()}")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@dataclass
class Deployment:
    a: Server
    b: Server
    container: Container  # this test process plays the worker (verification outcomes)
    admin: str


@pytest.fixture
def deployment(pg_schema: tuple[str, str], tmp_path: Path) -> Iterator[Deployment]:
    dsn, schema = pg_schema
    container = bootstrap(Settings(store="postgres", pg_dsn=dsn, pg_schema=schema,
                                   data_dir=tmp_path))
    admin = container.app.create_first_admin("root")["secret"]
    # No revocation process or job dispatcher: these servers only answer requests.
    env = {"CONSENTRY_STORE": "postgres", "CONSENTRY_PG_DSN": dsn,
           "CONSENTRY_PG_SCHEMA": schema, "CONSENTRY_DATA_DIR": str(tmp_path),
           "CONSENTRY_PROCESSES": "0"}
    a = start(env, tmp_path / "a.log")
    try:
        b = start(env, tmp_path / "b.log")
        try:
            yield Deployment(a, b, container, admin)
        finally:
            stop(b)
    finally:
        stop(a)
        container.close()


def call(server: Server, method: str, path: str, token: str | None = None,
         expect: int | tuple[int, ...] = (200, 201, 202), **kwargs: Any) -> Any:
    headers = {**kwargs.pop("headers", {}),
               **({"Authorization": f"Bearer {token}"} if token else {})}
    response = httpx.request(method, server.url + path, headers=headers, timeout=30.0,
                             **kwargs)
    wanted = (expect,) if isinstance(expect, int) else expect
    assert response.status_code in wanted, (server.url, response.status_code, response.text)
    return response.json() if response.content else None


def verified_member(d: Deployment, handle: str) -> tuple[str, str]:
    codes = call(d.a, "POST", "/members/me/invites", d.admin, json={"count": 1})["codes"]
    body = call(d.a, "POST", "/members", json={"invite_code": codes[0], "handle": handle})
    token, member_id = body["secret"], body["member_id"]
    challenge = call(d.a, "POST", "/identity/verifications", token)
    call(d.a, "POST", challenge["upload_to"], token, content=placeholder_video(handle),
         headers={"content-type": "video/mp4"})
    d.container.app.complete_verification(WORKER, UUID(member_id), b"\x01" * 32,
                                          "test-model", 0.9, 0.95)
    return member_id, token


def generate(server: Server, token: str, prompt: str, cameos: list[str],
             expect: int) -> Any:
    return call(server, "POST", "/generations", token, expect=expect,
                json={"prompt": prompt, "seconds": 3, "cameo_owner_ids": cameos})


def test_consent_changed_through_one_process_holds_in_the_other_at_once(
        deployment: Deployment):
    d = deployment
    ada, ada_token = verified_member(d, "ada")
    bea, bea_token = verified_member(d, "bea")
    holder = call(d.a, "POST", "/rights-holders", d.admin, expect=201,
                  json={"name": "Studio", "proof": "registry extract"})["secret"]

    # a work registered through A is screened by B on the very next request
    generate(d.b, ada_token, "zorblax dances in the rain", [], expect=201)
    call(d.a, "POST", "/works", holder, expect=201,
         json={"title": "Zorblax", "kind": "character", "aliases": ["zorblax"]})
    denied = generate(d.b, ada_token, "zorblax dances in the rain", [], expect=403)
    assert denied["rule_codes"] == ["WORK-LICENSED"]

    # a cameo restricted through A
    call(d.a, "POST", "/cameo/enable", bea_token, json={"permission": "everyone"})
    generate(d.b, ada_token, "a knife juggling act", [bea], expect=201)
    call(d.a, "POST", "/cameo/restrictions", bea_token,
         json={"forbidden_categories": ["violence"], "instructions": ""})
    held = generate(d.b, ada_token, "a knife juggling act", [bea], expect=202)
    assert held["rule_codes"] == ["CAMEO-RESTRICTIONS"]

    # a block added through A
    call(d.a, "POST", "/cameo/blocks", bea_token, json={"member_id": ada})
    blocked = generate(d.b, ada_token, "a walk in the park", [bea], expect=403)
    assert blocked["rule_codes"] == ["CAMEO-PERMISSION"]
