"""Invariants of the Generation aggregate."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.actors import Actor, Role
from domain.errors import InvalidTransitionError
from domain.generation import Generation

pytestmark = pytest.mark.unit
MEMBER = Actor("m", Role.MEMBER)
WORKER = Actor("w", Role.WORKER)


def allowed() -> Generation:
    g = Generation.request(MEMBER, uuid4(), "a boat", (), 5)
    g.decide(MEMBER, "allow", (), (), (), {})
    return g


def rendered_scanned_watermarked() -> Generation:
    g = allowed()
    g.record_render(WORKER, "d" * 64, 10, 1.0, "w", 1)
    g.record_scan(WORKER, {})
    g.record_watermark(WORKER, "ab", "m", "p")
    return g


def test_a_generation_is_never_published_before_it_was_scanned():
    g = allowed()
    g.record_render(WORKER, "d" * 64, 10, 1.0, "w", 1)
    with pytest.raises(InvalidTransitionError):
        g.publish(WORKER)


def test_a_generation_is_never_published_before_it_was_watermarked():
    g = allowed()
    g.record_render(WORKER, "d" * 64, 10, 1.0, "w", 1)
    g.record_scan(WORKER, {})
    with pytest.raises(InvalidTransitionError):
        g.publish(WORKER)


def test_scanned_and_watermarked_generation_publishes():
    g = rendered_scanned_watermarked()
    g.publish(WORKER)
    assert g.state == "published"


def test_a_rejected_generation_cannot_be_published():
    g = rendered_scanned_watermarked()
    g.reject(WORKER, ("SAFETY",))
    with pytest.raises(InvalidTransitionError):
        g.publish(WORKER)


def test_a_taken_down_generation_cannot_be_published_but_can_be_restored_by_review():
    g = rendered_scanned_watermarked()
    g.publish(WORKER)
    g.take_down(Actor("system", Role.SYSTEM), {"kind": "cameo-disabled"})
    with pytest.raises(InvalidTransitionError):
        g.publish(WORKER)
    g.restore(Actor("r", Role.REVIEWER), uuid4())
    assert g.state == "published"


def test_a_denied_request_goes_no_further():
    g = Generation.request(MEMBER, uuid4(), "x", (), 5)
    g.decide(MEMBER, "deny", ("ID-VERIFIED",), (), (), {})
    with pytest.raises(InvalidTransitionError):
        g.record_render(WORKER, "d" * 64, 1, 1.0, "w", 1)


def test_an_approved_hold_resumes_where_it_stopped():
    g = allowed()
    g.record_render(WORKER, "d" * 64, 10, 1.0, "w", 1)
    g.record_scan(WORKER, {})
    g.hold_for_review(WORKER, uuid4(), ("FACE-NOT-OTHERS",))
    g.approve(Actor("r", Role.REVIEWER), g.case_ids[0])
    assert g.state == "scanned"


def test_every_event_records_its_actor():
    g = rendered_scanned_watermarked()
    events = g.collect_events()
    assert [(e.actor_id, e.actor_role) for e in events] == [
        ("m", "member"), ("m", "member"), ("w", "worker"), ("w", "worker"), ("w", "worker")]
