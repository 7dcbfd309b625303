"""The log format: JSON lines with the request's context, and the scrubber that replaces a
bearer key, a webhook secret or a configured secret wherever one would appear."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from adapters.logging_setup import CONTEXT, configure_logging, remember_secret, scrub

pytestmark = pytest.mark.unit


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    handler = configure_logging("INFO", "json", out)
    yield out
    root.removeHandler(handler)
    for old in saved[0]:
        root.addHandler(old)
    root.setLevel(saved[1])
    structlog.reset_defaults()


def test_a_line_is_one_json_object_with_the_request_context(stream: io.StringIO):
    token = CONTEXT.set({"request_id": "r-1", "principal_id": "p-1", "generation_id": "g-1"})
    try:
        logging.getLogger("consentry.test").info("hello %s", "world", extra={"status": 201})
    finally:
        CONTEXT.reset(token)
    [line] = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert line["event"] == "hello world" and line["status"] == 201
    assert (line["request_id"], line["principal_id"], line["generation_id"]) == (
        "r-1", "p-1", "g-1")
    assert line["level"] == "info" and line["logger"] == "consentry.test"


def test_secrets_are_scrubbed_wherever_they_appear(stream: io.StringIO):
    bearer = "cs1." + "ab" * 16 + ".1a2b3c4d.S3cr3t-Value_xyz"
    remember_secret("the-watermark-key-123")
    logging.getLogger("consentry.test").warning("got %s and whsec_QUJDRA== and %s", bearer,
                                                "the-watermark-key-123")
    text = stream.getvalue()
    assert "S3cr3t" not in text and "QUJDRA" not in text and "watermark-key" not in text
    assert scrub(bearer) == "cs1." + "ab" * 16 + ".1a2b3c4d.<redacted>"
