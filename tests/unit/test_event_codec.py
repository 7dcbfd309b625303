"""The msgspec mapper round-trips every field type our events use."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from adapters.event_codec import MsgspecMapper
from domain.actors import Actor, Role
from domain.generation import Generation
from domain.identity import Identity
from domain.member import Member

pytestmark = pytest.mark.unit
ACTOR = Actor("a", Role.MEMBER)


def roundtrip(event: object) -> object:
    mapper = MsgspecMapper(transcoder=None)  # type: ignore[arg-type]
    return mapper.to_domain_event(mapper.to_stored_event(event))


def test_uuids_datetimes_tuples_dicts_and_optional_fields_come_back_as_themselves():
    g = Generation.request(ACTOR, uuid4(), "prompt", (uuid4(), uuid4()), 5, {"style": "noir"})
    g.decide(ACTOR, "allow", (), ({"code": "X", "evidence": {"n": [1, 2]}},), (uuid4(),),
             {"cameo:x": 2})
    for event in g.collect_events():
        assert vars(roundtrip(event)) == vars(event)


def test_dates_and_bytes_survive():
    m = Member.register(ACTOR, "bob")
    m.consume_quota(ACTOR, date(2026, 11, 24))
    i = Identity.create(ACTOR, m.id)
    events = [*m.collect_events(), *i.collect_events()]
    for event in events:
        assert vars(roundtrip(event)) == vars(event)


def test_bytes_field_round_trips():
    identity = Identity.create(ACTOR, uuid4())
    identity.__dict__["status"] = "submitted"
    identity.verify(ACTOR, b"\x00\xffsecret", "m", 0.5, 0.6)
    event = identity.collect_events()[-1]
    assert roundtrip(event).template_ciphertext == b"\x00\xffsecret"  # type: ignore[attr-defined]
