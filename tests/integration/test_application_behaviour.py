"""One behaviour suite for the application service, run on every event store: in memory,
SQLite (file) and PostgreSQL (real server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from domain.actors import Actor, Role
from domain.errors import (
    AlreadyExistsError,
    AuthenticationError,
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidTransitionError,
    PermissionDeniedError,
    ValidationError,
)
from domain.generation import Generation
from domain.grant import GrantTerms
from domain.member import Member
from tests.fakes import WORKER, FakeClock, World, event_count


@pytest.fixture(params=[
    pytest.param("memory", marks=pytest.mark.unit),
    pytest.param("sqlite", marks=pytest.mark.integration),
    pytest.param("postgres", marks=pytest.mark.integration),
])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        dsn, schema = request.getfixturevalue("pg_schema")
        return Settings(store="postgres", pg_dsn=dsn, pg_schema=schema)
    return Settings(store=request.param, data_dir=tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def container(settings: Settings, clock: FakeClock) -> Iterator[Container]:
    c = bootstrap(settings, clock=clock)
    yield c
    c.close()


@pytest.fixture
def world(container: Container) -> World:
    return World(container.app)


# -- credentials -----------------------------------------------------------------------

def test_registered_member_authenticates_with_the_key_they_were_given(container: Container):
    app = container.app
    code = app.issue_invites(Actor("admin-1", Role.ADMIN), 1)["codes"][0]
    registered = app.register_member(code, "ada")
    actor = app.authenticate(registered["secret"])
    assert actor == Actor(registered["member_id"], Role.MEMBER)


def test_revoked_key_stops_authenticating_at_once(container: Container, world: World):
    holder = world.rights_holder()
    issued = container.app.issue_key(holder, UUID(holder.id), "ci")
    assert container.app.authenticate(issued["secret"]) == holder
    container.app.revoke_key(holder, UUID(holder.id), issued["key_id"])
    with pytest.raises(AuthenticationError):
        container.app.authenticate(issued["secret"])


def test_first_admin_from_the_cli_can_enrol_a_reviewer(container: Container):
    admin = container.app.authenticate(container.app.create_first_admin("root")["secret"])
    assert admin.role == Role.ADMIN
    enrolled = container.app.enrol_staff(admin, "rita", "reviewer")
    assert container.app.authenticate(enrolled["secret"]).role == Role.REVIEWER


def test_invite_code_redeems_only_once_and_handles_are_unique(container: Container):
    app = container.app
    codes = app.issue_invites(Actor("admin-1", Role.ADMIN), 2)["codes"]
    app.register_member(codes[0], "grace")
    with pytest.raises(ValidationError):
        app.register_member(codes[0], "other")
    with pytest.raises(AlreadyExistsError):
        app.register_member(codes[1], "GRACE")


# -- idempotency and conflicts ---------------------------------------------------------

def test_retried_command_with_the_same_key_returns_the_first_result_without_new_events(
        container: Container, world: World):
    member = world.member(cameo="everyone")
    first = container.app.request_generation(member, "a cat surfing at dawn", (), 5,
                                             key="req-1")
    events_after_first = event_count(container)
    again = container.app.request_generation(member, "a cat surfing at dawn", (), 5,
                                             key="req-1")
    assert again == first
    assert event_count(container) == events_after_first


def test_the_same_key_with_other_arguments_is_refused(container: Container, world: World):
    member = world.member()
    container.app.follow(member, UUID(world.member().id), key="k")
    with pytest.raises(IdempotencyKeyReusedError):
        container.app.follow(member, UUID(world.member().id), key="k")


def test_concurrent_retries_with_one_key_record_the_command_once(container: Container,
                                                                  world: World):
    member = world.member()
    results, errors = [], []

    def request() -> None:
        try:
            results.append(container.app.issue_invites(member, 3, key="burst"))
        except ConflictError as error:  # only when both raced the same member version
            errors.append(error)

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results and all(r == results[0] for r in results)
    assert container.app.get(Member, UUID(member.id)).invites_issued == 3


def test_a_stale_copy_of_an_aggregate_conflicts_instead_of_overwriting(container: Container,
                                                                       world: World):
    member = world.member()
    app = container.app
    copy_a = app.get(Member, UUID(member.id))
    copy_b = app.get(Member, UUID(member.id))
    copy_a.change_tier(world.admin, "pro")
    app.commit(copy_a)
    copy_b.suspend(world.admin, "spam")
    with pytest.raises(ConflictError):
        app.commit(copy_b)
    assert app.get(Member, UUID(member.id)).suspended is False


def test_concurrent_writers_all_land_through_group_commit(container: Container, world: World):
    members = [world.member(verified=False) for _ in range(8)]
    before = event_count(container)

    def follow_everyone(me: Actor) -> None:
        for other in members:
            if other != me:
                container.app.follow(me, UUID(other.id))

    threads = [threading.Thread(target=follow_everyone, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert event_count(container) - before == 8 * 7
    assert all(len(container.app.get(Member, UUID(m.id)).following) == 7 for m in members)


# -- the gate on real aggregates --------------------------------------------------------

def test_mutual_friend_may_use_a_mutuals_cameo_and_a_stranger_may_not(container: Container,
                                                                    world: World):
    owner = world.member(cameo="mutuals")
    friend = world.member(cameo="mutuals")
    stranger = world.member()
    world.mutuals(owner, friend)
    app = container.app
    allowed = app.request_generation(friend, "us two dancing on the moon",
                                     (UUID(owner.id), UUID(friend.id)), 8)
    assert allowed["outcome"] == "allow"
    denied = app.request_generation(stranger, "dancing on the moon", (UUID(owner.id),), 8)
    assert denied == {**denied, "outcome": "deny", "rule_codes": ["CAMEO-PERMISSION"]}


def test_unverified_requester_is_denied_by_id_verified(container: Container, world: World):
    member = world.member(verified=False)
    result = container.app.request_generation(member, "a lighthouse in fog", (), 5)
    assert result["outcome"] == "deny" and result["rule_codes"] == ["ID-VERIFIED"]


def test_daily_quota_is_counted_on_the_member_and_resets_the_next_day(
        container: Container, world: World, clock: FakeClock):
    member = world.member()
    app = container.app
    limit = app.get(Member, UUID(member.id)).limits.daily_generations
    for i in range(limit):
        assert app.request_generation(member, f"scene {i}", (), 5)["outcome"] == "allow"
    assert app.request_generation(member, "one more", (), 5)["rule_codes"] == ["TIER-LIMITS"]
    clock.advance(days=1)
    assert app.request_generation(member, "next day", (), 5)["outcome"] == "allow"


def test_grant_to_everyone_forbidding_violence_allows_peaceful_use_only(
        container: Container, world: World):
    holder = world.rights_holder()
    world.work(holder, "Pikachu", ("Pika",), audience="everyone",
               forbidden_categories=("violence",))
    member = world.member()
    app = container.app
    ok = app.request_generation(member, "P1kachu having a picnic", (), 5)
    assert ok["outcome"] == "allow"
    bad = app.request_generation(member, "pi ka chu commits a murder", (), 5)
    assert bad["outcome"] == "deny" and "WORK-LICENSED" in bad["rule_codes"]
    unsure = app.request_generation(member, "pikachu in a bloody fight", (), 5)
    assert unsure["outcome"] == "review" and unsure["rule_codes"] == ["WORK-LICENSED"]


def test_unlicensed_work_is_denied_and_a_revoked_grant_stops_covering(container: Container,
                                                                      world: World):
    holder = world.rights_holder()
    app = container.app
    member = world.member()
    work_id, _ = world.work(holder, "Captain Comet")
    assert app.request_generation(member, "captain comet flies", (), 5)["rule_codes"] == [
        "WORK-LICENSED"]
    grant_id = UUID(app.issue_grant(holder, work_id, GrantTerms()))
    assert app.request_generation(member, "captain comet flies", (), 5)["outcome"] == "allow"
    app.revoke_grant(holder, grant_id, "ended deal")
    assert app.request_generation(member, "captain-comet flies", (), 5)["outcome"] == "deny"


def test_a_work_name_too_short_to_recognise_is_refused(container: Container, world: World):
    holder = world.rights_holder()
    with pytest.raises(ValidationError):
        container.app.register_work(holder, "Zoo", "brand", ("Zoo Co",))


def test_expired_grant_does_not_cover(container: Container, world: World, clock: FakeClock):
    holder = world.rights_holder()
    member = world.member()
    world.work(holder, "Moon Rabbit", valid_until=clock.now + timedelta(hours=1))
    assert container.app.request_generation(member, "moon rabbit", (), 5)["outcome"] == "allow"
    clock.advance(hours=2)
    assert container.app.request_generation(member, "moon rabbit", (), 5)["outcome"] == "deny"


def test_decision_trace_records_every_rule_and_the_versions_it_read(container: Container,
                                                                    world: World):
    owner = world.member(cameo="everyone")
    member = world.member()
    result = container.app.request_generation(member, "a walk", (UUID(owner.id),), 5)
    generation = container.app.get(Generation, UUID(result["generation_id"]))
    codes = [rule["code"] for rule in generation.trace]
    assert codes == ["ID-VERIFIED", "TIER-LIMITS", "CAMEO-ENABLED", "CAMEO-PERMISSION",
                     "CAMEO-RESTRICTIONS", "WORK-LICENSED", "PUBLIC-FIGURE", "REMIX-CONSENT"]
    assert generation.consent_versions[f"cameo:{owner.id}"] == 2  # created, enabled


@pytest.mark.parametrize("settings", ["sqlite", "postgres"], indirect=True)
def test_work_registered_before_a_restart_is_still_detected(settings: Settings,
                                                          clock: FakeClock):
    first = bootstrap(settings, clock=clock)
    world = World(first.app)
    holder = world.rights_holder()
    member = world.member()
    world.work(holder, "Zorblax the Great", ("Zorblax",))
    first.close()
    second = bootstrap(settings, clock=clock)
    try:
        result = second.app.request_generation(member, "zorblax waves", (), 5)
        assert result["rule_codes"] == ["WORK-LICENSED"]
    finally:
        second.close()


# -- lifecycle and review ---------------------------------------------------------------

def test_allowed_generation_publishes_only_after_scan_and_watermark(container: Container,
                                                                    world: World):
    member = world.member()
    app = container.app
    gid = UUID(app.request_generation(member, "a quiet forest", (), 5)["generation_id"])
    app.record_render(WORKER, gid, "a" * 64, 48, 2.0, "w1", 1)
    with pytest.raises(InvalidTransitionError):
        app.publish_generation(WORKER, gid)
    world.publish(gid)  # the remaining steps; re-running recorded steps adds nothing
    assert app.get(Generation, gid).state == "published"


def test_reviewer_cannot_decide_own_content_and_appeal_goes_to_someone_else(
        container: Container, world: World):
    app = container.app
    member = world.member()
    gid = UUID(app.request_generation(member, "a harbour", (), 5)["generation_id"])
    case_id = UUID(app.hold_generation(WORKER, gid, ("SAFETY",), {"score": 0.5})["case_id"])
    author_as_reviewer = Actor(member.id, Role.REVIEWER)
    with pytest.raises(PermissionDeniedError):
        app.claim_case(author_as_reviewer, case_id)
    first, second = Actor("rev-1", Role.REVIEWER), Actor("rev-2", Role.REVIEWER)
    app.claim_case(first, case_id)
    app.decide_case(first, case_id, "remove", "SAFETY-1")
    assert app.get(Generation, gid).state == "rejected"
    app.appeal_case(member, case_id, "it is a harbour")
    with pytest.raises(PermissionDeniedError):
        app.claim_case(first, case_id)
    app.claim_case(second, case_id)
    assert app.decide_appeal(second, case_id, "approve", "OK-1") == "closed"
