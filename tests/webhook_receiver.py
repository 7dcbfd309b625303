"""A webhook receiver for tests: a real HTTP server on loopback, on a thread, that answers
what the test scripts (fail N times, then accept; or hold a request open) and keeps every
request it got. `verify` is the Standard Webhooks check written from the specification,
independently of the code that signs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    answered: int

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


def verify(secret: str, headers: dict[str, str], body: str, tolerance: int = 300,
           now: float | None = None) -> bool:
    """From https://www.standardwebhooks.com (spec, "Verifying webhook authenticity"): the
    secret is base64 after the `whsec_` prefix; the signed content is
    `{webhook-id}.{webhook-timestamp}.{body}`; HMAC-SHA256, base64; the signature header
    holds space-delimited `v1,<signature>` entries, any of which may match; the timestamp
    must be within the tolerance."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    content = f"{message_id}.{timestamp}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for entry in headers["webhook-signature"].split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False


@dataclass
class Receiver:
    """`fail_first`: answers 500 to that many requests, then 200. `hold`: while set,
    requests are recorded and never answered."""

    fail_first: int = 0
    status_after: int = 200
    received: list[Received] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)
    closing: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                if receiver.hold.is_set():
                    receiver.received.append(Received(headers, body, 0))
                    receiver.closing.wait(60)
                    return  # never answered
                status = 500 if len([r for r in receiver.received if r.answered]) \
                    < receiver.fail_first else receiver.status_after
                receiver.received.append(Received(headers, body, status))
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def accepted(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.answered < 300]

    def wait_for(self, condition: Any, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver got {len(self.received)} requests: "
                                     f"{[(r.message_id, r.answered) for r in self.received]}")
            time.sleep(0.02)  # polling the condition, with a deadline

    async def until(self, condition: Any, timeout: float = 20.0) -> None:
        """`wait_for` for tests whose server runs on their own event loop."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver got {len(self.received)} requests: "
                                     f"{[(r.message_id, r.answered) for r in self.received]}")
            await asyncio.sleep(0.02)  # polling the condition, with a deadline

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
