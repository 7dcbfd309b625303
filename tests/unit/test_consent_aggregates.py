"""Invariants of Grant, Cameo, Identity and ReviewCase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.actors import Actor, Role
from domain.cameo import Cameo
from domain.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from domain.grant import Grant, GrantTerms
from domain.identity import Challenge, Identity
from domain.review_case import ReviewCase
from domain.work import Work

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
HOLDER = Actor("h", Role.RIGHTS_HOLDER)


def test_a_grant_cannot_be_amended_after_revocation():
    grant = Grant.issue(HOLDER, uuid4(), uuid4(), GrantTerms())
    grant.revoke(HOLDER, "deal ended")
    with pytest.raises(InvalidTransitionError):
        grant.amend(HOLDER, GrantTerms(uses=("generate", "remix")))


def test_grant_terms_must_make_sense():
    with pytest.raises(ValidationError):
        GrantTerms(audience="members").validate()
    with pytest.raises(ValidationError):
        GrantTerms(valid_from=NOW, valid_until=NOW - timedelta(days=1)).validate()
    with pytest.raises(ValidationError):
        GrantTerms(forbidden_categories=("boring",)).validate()


def test_grant_expires_only_once_its_end_has_passed():
    grant = Grant.issue(HOLDER, uuid4(), uuid4(), GrantTerms(valid_until=NOW))
    with pytest.raises(InvalidTransitionError):
        grant.expire(HOLDER, NOW - timedelta(seconds=1))
    grant.expire(HOLDER, NOW)
    assert grant.expired and not grant.is_valid_at(NOW - timedelta(days=1))


def test_work_aliases_shorter_than_three_characters_are_refused():
    with pytest.raises(ValidationError):
        Work.register(HOLDER, uuid4(), "X", "character", ("Yo",))


def test_withdrawn_work_takes_no_new_grant():
    work = Work.register(HOLDER, uuid4(), "Comet", "character", ())
    work.withdraw(HOLDER)
    with pytest.raises(InvalidTransitionError):
        work.link_grant(HOLDER, uuid4())


def test_a_disabled_cameo_takes_no_permission_change_but_blocks_always_work():
    owner = uuid4()
    me = Actor(str(owner), Role.MEMBER)
    cameo = Cameo.create(me, owner)
    cameo.enable(me, "everyone")
    cameo.disable(me)
    with pytest.raises(InvalidTransitionError):
        cameo.change_permission(me, "mutuals")
    cameo.block(me, uuid4())
    assert len(cameo.blocked) == 1


def test_cameo_restrictions_accept_only_known_categories():
    owner = uuid4()
    me = Actor(str(owner), Role.MEMBER)
    cameo = Cameo.create(me, owner)
    with pytest.raises(ValidationError):
        cameo.set_restrictions(me, ("politics-ish",), "")


def challenge(nonce: str = "n1") -> Challenge:
    return Challenge(nonce, "123", ("left", "up"), NOW + timedelta(minutes=10))


def test_a_verification_answers_the_current_unexpired_challenge_once():
    member = uuid4()
    me = Actor(str(member), Role.MEMBER)
    identity = Identity.create(me, member)
    identity.start_verification(me, challenge())
    with pytest.raises(ValidationError):
        identity.submit(me, "other-nonce", "d" * 64, NOW)
    identity.submit(me, "n1", "d" * 64, NOW)
    identity.fail(Actor("w", Role.WORKER), ("NO-FACE",))
    identity.start_verification(me, challenge("n1"))
    with pytest.raises(ValidationError):  # a nonce is never accepted twice
        identity.submit(me, "n1", "e" * 64, NOW)


def test_an_expired_challenge_is_refused():
    member = uuid4()
    me = Actor(str(member), Role.MEMBER)
    identity = Identity.create(me, member)
    identity.start_verification(me, challenge())
    with pytest.raises(ValidationError):
        identity.submit(me, "n1", "d" * 64, NOW + timedelta(minutes=11))


def test_nothing_happens_to_an_identity_after_erasure():
    member = uuid4()
    me = Actor(str(member), Role.MEMBER)
    identity = Identity.create(me, member)
    identity.erase(me)
    with pytest.raises(InvalidTransitionError):
        identity.start_verification(me, challenge())


def open_case(owner: str) -> ReviewCase:
    return ReviewCase.open(Actor("w", Role.WORKER), "generation", uuid4(),
                           UUID(owner), "SAFETY", {}, "high")


def test_a_claim_is_a_lease_that_another_reviewer_can_take_once_it_expired():
    case = open_case(str(uuid4()))
    a, b = Actor("a", Role.REVIEWER), Actor("b", Role.REVIEWER)
    case.claim(a, NOW)
    with pytest.raises(PermissionDeniedError):
        case.claim(b, NOW + timedelta(minutes=1))
    case.claim(b, NOW + timedelta(hours=1))
    with pytest.raises(PermissionDeniedError):
        case.decide(a, "remove", "P-1", NOW + timedelta(hours=1))
    case.decide(b, "remove", "P-1", NOW + timedelta(hours=1))
    assert case.decided_by == "b"


def test_an_appeal_is_decided_by_a_different_reviewer():
    author = uuid4()
    case = open_case(str(author))
    a, b = Actor("a", Role.REVIEWER), Actor("b", Role.REVIEWER)
    case.claim(a, NOW)
    case.decide(a, "remove", "P-1", NOW)
    with pytest.raises(PermissionDeniedError):
        case.appeal(Actor("someone-else", Role.MEMBER), "mine?")
    case.appeal(Actor(str(author), Role.MEMBER), "please look again")
    with pytest.raises(PermissionDeniedError):
        case.decide_appeal(a, "approve", "P-OK", NOW)
    case.claim(b, NOW)
    case.decide_appeal(b, "approve", "P-OK", NOW)
    assert case.final_decision == "approve"
