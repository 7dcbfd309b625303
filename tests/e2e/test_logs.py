"""Structured logs over a full journey (verification by the worker, mutual cameos, a video
published, another deleted, a webhook endpoint, a refused key): every line is one JSON
object with the request id, principal id, generation id and trace id where known, and no
line holds a bearer secret, the webhook secret, the watermark key, a face template or the
prompt of the deleted generation."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import UUID

import httpx
import pytest
import structlog
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.bootstrap import bootstrap
from adapters.jobs_inprocess import InProcessJobQueue
from adapters.logging_setup import configure_logging
from adapters.media_intake import MediaIntake
from adapters.settings import Settings
from adapters.tracing import configure_tracing, disable_tracing
from adapters.worker import build_handlers
from api.app import close_state, create_app, open_state
from domain.identity import Identity
from domain.ids import identity_id
from inference.generators import CompositeGenerator
from tests.e2e.conftest import LiveApi, SwitchableGenerator
from tests.e2e.test_journey_pipeline import generate, mutual_cameos
from tests.fakes import FakeClock, ScriptedSafety
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
DELETED_PROMPT = "a clandestine tango of seventeen zebras under violet lanterns"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every record of every logger, at DEBUG, as the JSON lines production writes."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    handler = configure_logging("DEBUG", "json", stream)
    memory = InMemorySpanExporter()
    configure_tracing("consentry-test", memory)
    yield stream
    disable_tracing()
    root.removeHandler(handler)
    for old in saved[0]:
        root.addHandler(old)
    root.setLevel(saved[1])
    structlog.reset_defaults()


@pytest.fixture
async def journey_api(captured: io.StringIO, tmp_path: Path, media_intake: MediaIntake
                      ) -> AsyncIterator[LiveApi]:
    safety, clock = ScriptedSafety(), FakeClock()
    settings = Settings(store="sqlite", data_dir=tmp_path, webhooks_allow_private=True)
    container = bootstrap(settings, clock=clock, safety=safety, media_intake=media_intake)
    admin = container.app.create_first_admin("root")["secret"]
    generator = SwitchableGenerator(CompositeGenerator())
    handlers, give_up = build_handlers(container, generator)
    jobs = InProcessJobQueue(handlers, give_up=give_up, backoff=(0.2, 0.5))
    app = create_app(container)
    await open_state(app, container, jobs=jobs)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield LiveApi(client, container, clock, admin, jobs, generator, safety)
    await close_state(app)
    container.close()


def forms(secret: bytes | str) -> list[str]:
    """The ways a secret could be written into a log line."""
    raw = secret.encode() if isinstance(secret, str) else secret
    found = [raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(),
             repr(raw)[2:-1]]
    if isinstance(secret, str):
        found.append(secret)
    return [f for f in found if len(f) >= 16]


async def test_no_secret_is_logged_in_a_full_journey(journey_api: LiveApi,
                                                     captured: io.StringIO, tmp_path: Path):
    live = journey_api
    logging.getLogger().setLevel(logging.DEBUG)  # pytest restores the level between phases
    receiver = Receiver()
    try:
        ada, ada_token, bea, bea_token = await mutual_cameos(live)
        published = await generate(live, ada_token, "two friends on a sunny beach", [ada, bea])
        assert published["state"] == "published", published
        deleted = await generate(live, bea_token, DELETED_PROMPT, [])
        await live.call("DELETE", f"/generations/{deleted['id']}", bea_token)
        studio = await live.call("POST", "/rights-holders", live.admin, expect=201,
                                 json={"name": "Studio", "proof": "ref"})
        hook = await live.call("POST", "/webhooks/endpoints", live.admin, expect=201,
                               json={"url": receiver.url, "event_types": ["cameo.appearance"]})
        await live.call("GET", "/feed", "cs1." + "0" * 32 + ".abcd.not-a-real-secret",
                        expect=401)
        await live.settle()
    finally:
        receiver.close()

    text = captured.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) >= 20, text[:3000]  # every request of the journey wrote its line
    assert all("request_id" in line for line in requests)
    assert any(line.get("principal_id") == ada for line in requests)
    assert any(line.get("generation_id") == published["id"] and "trace_id" in line
               for line in lines)

    secrets: list[str] = []
    for token in (live.admin, ada_token, bea_token, studio["secret"], hook["secret"]):
        secrets += forms(token) + forms(token.rsplit(".", 1)[-1])
    secrets += forms(bytes.fromhex((tmp_path / "watermark.key").read_text().strip()))
    for member in (ada, bea):
        events = live.container.app.events.get(identity_id(UUID(member)))
        [verified] = [e for e in events if isinstance(e, Identity.Verified)]
        template = live.container.vault.open(str(identity_id(UUID(member))),
                                             verified.template_ciphertext)
        assert template is not None
        secrets += forms(template.to_bytes()) + forms(verified.template_ciphertext)
    secrets.append(DELETED_PROMPT)
    secrets += ["clandestine", "seventeen zebras", "violet lanterns"]  # nor parts of it
    leaked = [s for s in secrets if s in text]
    assert leaked == [], leaked
    # nothing even tried to: the scrubber (a second line of defence) replaced nothing
    assert "<redacted>" not in text


