"""The takedown request aggregate: the fields the law names, one decision, removal only after
validation, the deadline and its escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.actors import Actor, Role
from domain.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from domain.takedown import (
    RequestState,
    TakedownRequest,
    reference_of,
    request_id,
)

pytestmark = pytest.mark.unit
PUBLIC = Actor("public:1", Role.PUBLIC)
REVIEWER = Actor("rev-1", Role.REVIEWER)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
STATEMENT = "I am the person shown and I never agreed to this video."


def filed(**changes: object) -> TakedownRequest:
    args: dict[str, object] = dict(
        reference=reference_of("nonce-1"), token="secret-token", generation_id=uuid4(),
        located_by="id", category="intimate_imagery", relation="depicted_person",
        statement=STATEMENT, signature="Ada Lovelace", contact={"email": "ada@example.org"},
        case_id=uuid4(), now=NOW)
    args.update(changes)
    return TakedownRequest.file(PUBLIC, **args)  # type: ignore[arg-type]


def test_a_request_is_named_by_its_proof_and_keeps_its_deadline():
    request = filed()
    assert request.id == request_id(reference_of("nonce-1"))
    assert request.reference.startswith("TD-") and request.state == RequestState.FILED
    assert request.deadline == NOW + timedelta(hours=48)
    assert filed(deadline=timedelta(hours=24)).deadline == NOW + timedelta(hours=24)
    request.check_token("secret-token")
    with pytest.raises(PermissionDeniedError):
        request.check_token("guess")


@pytest.mark.parametrize("change", [
    {"category": "spam"}, {"relation": "neighbour"}, {"statement": "take it down"},
    {"signature": " "}, {"contact": {"email": "nobody"}}, {"located_by": "rumour"}])
def test_the_fields_the_law_names_are_required(change: dict[str, object]):
    with pytest.raises(ValidationError):
        filed(**change)


def test_validated_then_actioned_records_the_time_to_removal_and_closes():
    request = filed()
    with pytest.raises(InvalidTransitionError):
        request.record_removal(REVIEWER, (uuid4(),), NOW)  # not validated yet
    request.validate(REVIEWER, "NCII-1")
    removed = (uuid4(), uuid4())
    request.record_removal(REVIEWER, removed, NOW + timedelta(minutes=90))
    assert request.state == RequestState.CLOSED and request.outcome == "removed"
    assert request.removed == removed and request.removal_seconds == 5400.0
    assert len(request.notices) == 2
    with pytest.raises(InvalidTransitionError):
        request.reject(REVIEWER, "changed my mind")  # decided once


def test_a_rejection_states_its_reasons_and_closes():
    request = filed()
    with pytest.raises(ValidationError):
        request.reject(REVIEWER, "  ")
    request.reject(REVIEWER, "the video shows a cartoon, not a person")
    assert (request.state, request.outcome) == (RequestState.CLOSED, "rejected")
    assert "cartoon" in request.notices[-1]["text"]
    with pytest.raises(InvalidTransitionError):
        request.validate(REVIEWER, "NCII-1")


def test_due_near_the_deadline_and_escalated_once():
    request = filed()
    margin = timedelta(hours=12)
    assert not request.due(NOW + timedelta(hours=35), margin)
    assert request.due(NOW + timedelta(hours=36), margin)
    request.escalate(PUBLIC, "deadline near")
    assert not request.due(NOW + timedelta(hours=47), margin)
    with pytest.raises(InvalidTransitionError):
        request.escalate(PUBLIC, "again")
