"""Consent at the seams, on every event store: withdrawn works stay protected, remixes carry
everyone and everything their sources showed (at any depth), works and public figures found
only in the frames join the set consent is checked against, consent that now needs a person
holds the video, cameo instructions reach a person, invites are capped, and every
application on one store screens the works another registered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from domain.actors import SYSTEM, Actor, Role
from domain.errors import InviteLimitReachedError
from domain.faces import likeness_subject
from domain.generation import Generation, State
from domain.grant import Grant, GrantTerms
from domain.prompts import InstructionVerdict
from domain.review_case import ReviewCase
from tests.fakes import WORKER, FakeClock, World, findings

REVOKED = {"kind": "test revocation"}


@pytest.fixture(params=[
    pytest.param("memory", marks=pytest.mark.unit),
    pytest.param("sqlite", marks=pytest.mark.integration),
    pytest.param("postgres", marks=pytest.mark.integration),
])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        dsn, schema = request.getfixturevalue("pg_schema")
        return Settings(store="postgres", pg_dsn=dsn, pg_schema=schema, data_dir=tmp_path)
    return Settings(store=request.param, data_dir=tmp_path)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    c = bootstrap(settings, clock=FakeClock())
    yield c
    c.close()


@pytest.fixture
def world(container: Container) -> World:
    return World(container.app)


def request(app: Any, member: Actor, prompt: str, cameos: tuple[Actor, ...] = (),
            remix_of: UUID | None = None) -> dict[str, Any]:
    made: dict[str, Any] = app.request_generation(
        member, prompt, tuple(UUID(c.id) for c in cameos), 5, remix_of=remix_of)
    return made


def published(world: World, member: Actor, prompt: str, cameos: tuple[Actor, ...] = (),
              remix_of: UUID | None = None) -> UUID:
    made = request(world.app, member, prompt, cameos, remix_of)
    assert made["outcome"] == "allow", made
    world.publish(UUID(made["generation_id"]))
    return UUID(made["generation_id"])


def rendered(world: World, member: Actor, prompt: str) -> UUID:
    made = request(world.app, member, prompt)
    assert made["outcome"] == "allow", made
    gid = UUID(made["generation_id"])
    world.app.record_render(WORKER, gid, "a" * 64, 48, 2.0, "w1", 1)
    return gid


def rule(decision: Any, code: str) -> dict[str, Any]:
    return next(r for r in decision.trace() if r["code"] == code)


# -- withdrawn works --------------------------------------------------------------------

def test_a_withdrawn_work_stays_protected_and_its_grants_end(container: Container,
                                                              world: World):
    app, member = container.app, world.member()
    holder = world.rights_holder()
    work_id, grant_id = world.work(holder, "Captain Marlowe", ("marlowe",), audience="everyone")
    assert request(app, member, "captain marlowe on a ship")["outcome"] == "allow"

    app.withdraw_work(holder, work_id, "the character is retired")

    denied = app.evaluate_gate(member, "captain marlowe on a ship", (), 5)
    assert denied.outcome == "deny"
    [work] = rule(denied, "WORK-LICENSED")["evidence"]["works"]
    assert work["reason"] == "withdrawn"
    assert grant_id is not None and app.get(Grant, grant_id).ended


# -- lineage ------------------------------------------------------------------------------

def test_a_remix_of_a_remix_features_everyone_and_everything_its_sources_did(
        container: Container, world: World):
    app = container.app
    ada, bea, cy, dee = (world.member(cameo="everyone") for _ in range(4))
    holder = world.rights_holder()
    comet, _ = world.work(holder, "Comet the Dog", ("Comet the dog",), audience="everyone",
                          uses=("generate", "remix"))
    source = published(world, ada, "Comet the Dog runs on a beach", (bea,))
    remix = published(world, cy, "a sunset", (), remix_of=source)
    deeper = request(app, dee, "in the rain", remix_of=remix)
    assert deeper["outcome"] == "allow", deeper

    g = app.get(Generation, UUID(deeper["generation_id"]))
    assert set(g.featured_member_ids) == {UUID(bea.id)}
    assert set(g.featured_work_ids) == {comet}
    assert g.inherited_work_ids == (comet,) and g.inherited_member_ids == (UUID(bea.id),)
    assert g.features(UUID(bea.id))


def test_blocking_the_remixer_takes_down_the_remix_and_what_was_made_from_it(
        container: Container, world: World):
    app = container.app
    ada, bea, cy, dee = (world.member(cameo="everyone") for _ in range(4))
    source = published(world, ada, "friends at a picnic", (bea,))
    remix = published(world, cy, "with fireworks", remix_of=source)
    deeper = published(world, dee, "in slow motion", remix_of=remix)

    app.block_person(bea, UUID(cy.id))
    acted = app.enforce_consent(SYSTEM, (source, remix), REVOKED)
    assert acted == {remix: State.TAKEN_DOWN}
    assert app.get(Generation, source).state == State.PUBLISHED
    # the revocation process checks remixes of what fell next: the source is gone
    assert app.enforce_consent(SYSTEM, (deeper,), REVOKED) == {deeper: State.TAKEN_DOWN}
    assert "REMIX-CONSENT" in app.get(Generation, deeper).takedown_cause["rules"]


def test_a_grant_amended_to_drop_remix_takes_down_remixes_only(container: Container,
                                                                world: World):
    app = container.app
    ada, cy = world.member(), world.member()
    holder = world.rights_holder()
    _, grant_id = world.work(holder, "Comet the Dog", ("Comet the dog",), audience="everyone",
                             uses=("generate", "remix"))
    assert grant_id is not None
    source = published(world, ada, "Comet the Dog runs on a beach")
    remix = published(world, cy, "at night", remix_of=source)

    app.amend_grant(holder, grant_id, GrantTerms(audience="everyone", uses=("generate",)))
    assert app.enforce_consent(SYSTEM, (source, remix), REVOKED) == {
        remix: State.TAKEN_DOWN}


# -- seen in the frames ------------------------------------------------------------------

def test_a_work_seen_only_in_the_frames_joins_the_set_and_its_grant_governs_it(
        container: Container, world: World):
    app, member, holder = container.app, world.member(), world.rights_holder()
    poster, grant_id = world.work(holder, "Astronaut Poster", audience="everyone")
    assert grant_id is not None
    gid = rendered(world, member, "a quiet room")
    match = {"work_id": str(poster), "reference": "r", "method": "pdq", "score": 0.95,
             "decision": "match", "frames_matched": 3, "frames_near": 0, "seconds": [1.0]}

    result = app.record_scan(WORKER, gid, findings(matches=(match,)))

    assert result["outcome"] == "allow" and result["state"] == State.SCANNED
    g = app.get(Generation, gid)
    assert g.visual_work_ids == (poster,) and poster in g.featured_work_ids
    assert g.findings["works"]["matches"][0]["licensed"]
    app.record_watermark(WORKER, gid, "00ff", "b" * 64, "c" * 64)
    app.publish_generation(WORKER, gid)

    app.revoke_grant(holder, grant_id)
    assert app.enforce_consent(SYSTEM, (gid,), REVOKED) == {gid: State.TAKEN_DOWN}


def test_an_unlicensed_work_in_the_frames_is_rejected_in_the_scans_own_transaction(
        container: Container, world: World):
    app, member, holder = container.app, world.member(), world.rights_holder()
    poster, _ = world.work(holder, "Astronaut Poster")
    gid = rendered(world, member, "a quiet room")
    match = {"work_id": str(poster), "reference": "r", "method": "pdq", "score": 0.95,
             "decision": "match", "frames_matched": 3, "frames_near": 0, "seconds": [1.0]}

    result = app.record_scan(WORKER, gid, findings(matches=(match,)), ("e" * 64,))

    assert (result["outcome"], result["state"]) == ("reject", State.REJECTED)
    g = app.get(Generation, gid)
    assert "WORK-VISUAL" in g.rule_codes and g.findings["evidence_frames"] == []


def test_a_public_figures_face_needs_a_grant_or_their_own_cameo(container: Container,
                                                                 world: World):
    app, member, holder = container.app, world.member(), world.rights_holder()
    figure = UUID(app.register_work(holder, "Famous Person", "likeness", ("Famous Person",)))

    def track(work: UUID) -> dict[str, Any]:
        return {"track_id": 1, "verdict": "other_identity", "first_seconds": 0.5,
                "last_seconds": 2.0, "frames": 4, "largest_face_px": 120.0,
                "candidates": [{"subject_id": likeness_subject(work, "d" * 64),
                                "member_id": None, "distance": 0.3, "decision": "match",
                                "frames_matching": 4, "is_cameo": False}]}

    unlicensed = rendered(world, member, "a stroll in the park")
    result = app.record_scan(WORKER, unlicensed, findings(tracks=(track(figure),)))
    assert result["state"] == State.REJECTED
    assert "FACE-NOT-OTHERS" in app.get(Generation, unlicensed).rule_codes

    app.issue_grant(holder, figure, GrantTerms(audience="everyone"))
    licensed = rendered(world, member, "a stroll in the park")
    result = app.record_scan(WORKER, licensed, findings(tracks=(track(figure),)))
    assert result["state"] == State.SCANNED
    g = app.get(Generation, licensed)
    assert g.findings["faces"]["tracks"][0]["verdict"] == "licensed_likeness"
    assert figure in g.featured_work_ids


# -- consent that needs a person ----------------------------------------------------------

def test_consent_that_now_needs_a_person_holds_the_video_until_a_person_clears_it(
        container: Container, world: World):
    app = container.app
    ada, bea = world.member(), world.member(cameo="everyone")
    gid = published(world, ada, "friends at a knife fight", (bea,))
    reviewer = Actor(app.enrol_staff(world.admin, "rita", "reviewer")["staff_id"],
                     Role.REVIEWER)

    app.set_cameo_restrictions(bea, ("violence",), "")  # "knife" only might be violence
    assert app.enforce_consent(SYSTEM, (gid,), REVOKED) == {gid: State.HELD}
    g = app.get(Generation, gid)
    assert g.hold_cause == REVOKED
    case = app.get(ReviewCase, g.case_ids[-1])
    assert "CAMEO-RESTRICTIONS" in case.reason and case.evidence["consent_trace"]

    app.claim_case(reviewer, case.id)
    app.decide_case(reviewer, case.id, "approve", "OK-1")
    assert app.get(Generation, gid).state == State.WATERMARKED  # the worker publishes next
    assert app.enforce_consent(SYSTEM, (gid,), REVOKED) == {}  # cleared: not asked twice
    app.publish_generation(WORKER, gid)

    app.set_cameo_restrictions(bea, ("violence", "hate"), "")  # the same concern: cleared
    assert app.enforce_consent(SYSTEM, (gid,), REVOKED) == {}
    app.set_cameo_restrictions(bea, ("violence",), "no weapons")  # new evidence: ask again
    assert app.enforce_consent(SYSTEM, (gid,), REVOKED) == {gid: State.HELD}


# -- cameo instructions ------------------------------------------------------------------

def test_cameo_instructions_with_no_checker_send_the_request_to_a_person_quoting_them(
        tmp_path: Path):
    container = bootstrap(Settings(store="memory", data_dir=tmp_path,
                                   prompt_models="keywords"), clock=FakeClock())
    app, world = container.app, World(container.app)
    ada, bea = world.member(), world.member(cameo="everyone")
    app.set_cameo_restrictions(bea, (), "Never show me eating meat")

    made = request(app, ada, "bea eats a huge steak", (bea,))

    assert made["outcome"] == "review" and made["rule_codes"] == ["CAMEO-RESTRICTIONS"]
    g = app.get(Generation, UUID(made["generation_id"]))
    case = app.get(ReviewCase, g.case_ids[-1])
    restrictions = next(r for r in case.evidence["trace"] if r["code"] == "CAMEO-RESTRICTIONS")
    [cameo] = restrictions["evidence"]["cameos"]
    assert cameo["instructions"]["text"] == "Never show me eating meat"
    assert cameo["instructions"]["checker"] == "not configured"
    container.close()


class ClearsUnrelated:
    """An instruction checker that finds no conflict: stands in for a model in this test."""

    configured, model_id = True, "test-checker"

    def check(self, prompt: str, instructions: str) -> InstructionVerdict:
        return InstructionVerdict("pass", instructions, 0.12, self.model_id)


def test_a_checker_that_clears_the_prompt_lets_it_through_with_its_score(tmp_path: Path):
    container = bootstrap(Settings(store="memory", data_dir=tmp_path), clock=FakeClock(),
                          instruction_checker=ClearsUnrelated())
    try:
        world = World(container.app)
        ada, bea = world.member(), world.member(cameo="everyone")
        container.app.set_cameo_restrictions(bea, (), "Never show me eating meat")
        decision = container.app.evaluate_gate(ada, "bea plants a tree", (UUID(bea.id),), 5)
        assert decision.outcome == "allow"
        [cameo] = rule(decision, "CAMEO-RESTRICTIONS")["evidence"]["cameos"]
        assert cameo["instructions"] == {
            "text": "Never show me eating meat", "outcome": "pass",
            "checker": "test-checker", "score": 0.12, "reason": ""}
    finally:
        container.close()


# -- invites -----------------------------------------------------------------------------

def test_invites_are_capped_by_tier(container: Container, world: World):
    app, member = container.app, world.member()
    app.issue_invites(member, 5)
    with pytest.raises(InviteLimitReachedError):
        app.issue_invites(member, 1)
    app.change_tier(world.admin, UUID(member.id), "pro")
    assert len(app.issue_invites(member, 10)["codes"]) == 10


def test_the_operator_sets_the_invite_caps(tmp_path: Path):
    container = bootstrap(Settings(store="memory", data_dir=tmp_path,
                                   invite_caps={"free": 1}), clock=FakeClock())
    try:
        member = World(container.app).member()
        container.app.issue_invites(member, 1)
        with pytest.raises(InviteLimitReachedError):
            container.app.issue_invites(member, 1)
    finally:
        container.close()


# -- every application on one store --------------------------------------------------------

@pytest.mark.integration
def test_a_work_registered_through_one_application_is_screened_by_another_at_once(
        pg_schema: tuple[str, str], tmp_path: Path):
    dsn, schema = pg_schema
    settings = Settings(store="postgres", pg_dsn=dsn, pg_schema=schema, data_dir=tmp_path)
    first, second = bootstrap(settings), bootstrap(settings)
    try:
        world = World(first.app)
        member, holder = world.member(), world.rights_holder()
        assert second.app.evaluate_gate(member, "zorblax dances", (), 5).outcome == "allow"
        world.work(holder, "Zorblax", ("zorblax",))
        decision = second.app.evaluate_gate(member, "zorblax dances", (), 5)
        assert decision.outcome == "deny" and decision.failed == ("WORK-LICENSED",)
    finally:
        first.close()
        second.close()
