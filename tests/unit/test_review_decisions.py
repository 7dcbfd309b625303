"""What a review decision or an appeal does to its generation, and who may not review it
(application service on the in-memory store)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from domain.actors import SYSTEM, Actor, Role
from domain.errors import InvalidTransitionError, PermissionDeniedError
from domain.generation import Generation
from domain.review_case import ReviewCase
from domain.review_config import QueueForbidsError
from tests.fakes import WORKER, FakeClock, World, findings

pytestmark = pytest.mark.unit
FIRST, SECOND = Actor("rev-1", Role.REVIEWER), Actor("rev-2", Role.REVIEWER)


@pytest.fixture
def container() -> Iterator[Container]:
    c = bootstrap(Settings(store="memory"), clock=FakeClock())
    yield c
    c.close()


@pytest.fixture
def world(container: Container) -> World:
    return World(container.app)


def held(container: Container, author: Actor) -> tuple[UUID, UUID]:
    app = container.app
    gid = UUID(app.request_generation(author, "a harbour", (), 5)["generation_id"])
    app.record_render(WORKER, gid, "a" * 64, 48, 2.0, "w1", 1)
    case_id = UUID(app.hold_generation(WORKER, gid, ("SAFETY",), {"score": 0.55})["case_id"])
    return gid, case_id


def removed_and_appealed(container: Container, author: Actor) -> tuple[UUID, UUID]:
    app = container.app
    gid, case_id = held(container, author)
    app.claim_case(FIRST, case_id)
    app.decide_case(FIRST, case_id, "remove", "SAFETY-1")
    app.appeal_case(author, case_id, "it is fine")
    app.claim_case(SECOND, case_id)
    return gid, case_id


def test_an_upheld_appeal_overturns_the_removal_and_the_video_continues(
        container: Container, world: World):
    gid, case_id = removed_and_appealed(container, world.member())
    assert container.app.get(Generation, gid).state == "rejected"
    container.app.decide_appeal(SECOND, case_id, "approve", "OK-1")
    assert container.app.get(Generation, gid).state == "rendered"


def test_an_appeal_can_restrict_instead_of_removing(container: Container, world: World):
    gid, case_id = removed_and_appealed(container, world.member())
    container.app.decide_appeal(SECOND, case_id, "restrict", "SENSITIVE-1")
    generation = container.app.get(Generation, gid)
    assert (generation.state, generation.restricted) == ("rendered", True)


def test_a_dismissed_appeal_leaves_the_video_rejected(container: Container, world: World):
    gid, case_id = removed_and_appealed(container, world.member())
    container.app.decide_appeal(SECOND, case_id, "remove", "SAFETY-1")
    assert container.app.get(Generation, gid).state == "rejected"


def test_a_scanners_rejection_cannot_be_overturned_by_approval():
    g = Generation.request(Actor("m", Role.MEMBER), uuid4(), "x", (), 5)
    g.decide(Actor("m", Role.MEMBER), "allow", (), (), (), {})
    g.reject(WORKER, ("FACE-NOT-OTHERS",))
    with pytest.raises(InvalidTransitionError):
        g.approve(FIRST, uuid4())


def test_approving_a_report_never_restores_a_video_a_revocation_took_down(
        container: Container, world: World):
    app = container.app
    author, friend, reporter = world.member(), world.member(cameo="everyone"), world.member()
    gid = UUID(app.request_generation(author, "a beach", (UUID(friend.id),), 5)
               ["generation_id"])
    world.publish(gid)
    case_id = UUID(app.file_report(reporter, gid, "likeness")["case_id"])
    app.disable_cameo(friend)
    app.enforce_consent(SYSTEM, (gid,), {"kind": "Cameo.Disabled"})  # as revocation does
    app.claim_case(FIRST, case_id)
    app.decide_case(FIRST, case_id, "approve", "OK-1")
    assert app.get(Generation, gid).state == "taken_down"


def test_an_appeal_cannot_restore_a_video_whose_cameo_consent_went_while_it_was_down(
        container: Container, world: World):
    app = container.app
    author, friend, reporter = world.member(), world.member(cameo="mutuals"), world.member()
    world.mutuals(author, friend)
    gid = UUID(app.request_generation(author, "a beach", (UUID(friend.id),), 5)
               ["generation_id"])
    world.publish(gid)
    case_id = UUID(app.file_report(reporter, gid, "likeness")["case_id"])
    app.claim_case(FIRST, case_id)
    app.decide_case(FIRST, case_id, "remove", "LIKENESS-1")
    app.disable_cameo(friend)  # nothing to take down: it is down already
    app.appeal_case(author, case_id, "my friend agreed")
    app.claim_case(SECOND, case_id)
    with pytest.raises(InvalidTransitionError, match="consent"):
        app.decide_appeal(SECOND, case_id, "approve", "OK-1")
    assert app.get(Generation, gid).state == "taken_down"


def test_a_reviewer_linked_to_the_authors_account_cannot_touch_the_case(
        container: Container, world: World):
    app = container.app
    author = world.member()
    staff = app.enrol_staff(world.admin, "author at work", "reviewer",
                            member_id=UUID(author.id))
    as_reviewer = Actor(staff["staff_id"], Role.REVIEWER)
    _, case_id = held(container, author)
    for attempt in (lambda: app.claim_case(as_reviewer, case_id),
                    lambda: app.comment_case(as_reviewer, case_id, "fine"),
                    lambda: app.escalate_case(as_reviewer, case_id, "hm")):
        with pytest.raises(PermissionDeniedError):
            attempt()


def test_only_the_claimant_releases_a_case(container: Container, world: World):
    app = container.app
    _, case_id = held(container, world.member())
    app.claim_case(FIRST, case_id)
    with pytest.raises(PermissionDeniedError):
        app.release_case(SECOND, case_id)
    assert app.release_case(FIRST, case_id) == "open"


def test_escalating_never_takes_a_case_from_the_reviewer_who_holds_it(
        container: Container, world: World):
    app = container.app
    _, case_id = held(container, world.member())
    app.claim_case(FIRST, case_id)
    with pytest.raises(PermissionDeniedError, match="claimed by another reviewer"):
        app.escalate_case(SECOND, case_id, "mine now")
    # To the senior queue, which a reviewer does not work: the claim goes with the move.
    app.escalate_case(FIRST, case_id, "needs a senior")
    case = app.get(ReviewCase, case_id)
    assert (case.queue, case.claimed_by, case.priority) == ("senior", None, 0)
    with pytest.raises(QueueForbidsError):
        app.claim_case(SECOND, case_id)
    senior = Actor(app.enrol_staff(world.admin, "senior", "reviewer", grade="senior")
                   ["staff_id"], Role.REVIEWER)
    app.claim_case(senior, case_id)
    app.escalate_case(senior, case_id, "still unsure")  # no queue above: the holder keeps it
    assert app.get(ReviewCase, case_id).claimed_by == senior.id
    lead = Actor("lead-1", Role.ADMIN)
    app.escalate_case(lead, case_id, "taking it")  # a lead may, and it frees the claim
    assert app.get(ReviewCase, case_id).claimed_by is None
    app.claim_case(lead, case_id)
    app.decide_case(lead, case_id, "approve", "OK-1")


def test_nobody_in_the_video_or_its_source_reviews_its_case(container: Container,
                                                           world: World):
    app = container.app
    author, friend = world.member(), world.member(cameo="everyone")
    source = UUID(app.request_generation(author, "a picnic", (UUID(friend.id),), 5)
                  ["generation_id"])
    world.publish(source)
    remixer = world.member()
    remix = UUID(app.request_generation(remixer, "at night", (), 5, remix_of=source)
                 ["generation_id"])
    case_id = UUID(app.hold_generation(WORKER, remix, ("SAFETY",), {})["case_id"])
    for member in (friend, author, remixer):  # inherited cameo, source's author, author
        staff = app.enrol_staff(world.admin, f"staff {member.id[:6]}", "reviewer",
                                member_id=UUID(member.id))
        with pytest.raises(PermissionDeniedError, match="part of"):
            app.claim_case(Actor(staff["staff_id"], Role.REVIEWER), case_id)
    app.claim_case(FIRST, case_id)  # someone unrelated may


def test_a_face_the_scan_matched_keeps_that_person_off_the_case(container: Container,
                                                                world: World):
    app = container.app
    author, seen = world.member(), world.member()
    gid = UUID(app.request_generation(author, "a walk", (), 5)["generation_id"])
    app.record_render(WORKER, gid, "a" * 64, 48, 2.0, "w1", 1)
    track = {"track_id": 1, "verdict": "review", "first_seconds": 0.5, "last_seconds": 1.0,
             "frames": 3, "largest_face_px": 90.0,
             "candidates": [{"subject_id": "x", "member_id": seen.id, "distance": 0.62,
                             "decision": "review", "frames_matching": 2, "is_cameo": False}]}
    case_id = UUID(app.record_scan(WORKER, gid, findings(tracks=(track,)))["case_id"])
    staff = app.enrol_staff(world.admin, "seen at work", "reviewer", member_id=UUID(seen.id))
    with pytest.raises(PermissionDeniedError):
        app.claim_case(Actor(staff["staff_id"], Role.REVIEWER), case_id)
