"""Takedown commands on the application (in-memory store): a reinstatement on a
counter-notice is checked against consent as it is now."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from prometheus_client import REGISTRY

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from domain.actors import Actor, Role
from domain.errors import InvalidTransitionError
from domain.generation import Generation
from domain.takedown import TakedownRequest, request_id
from tests.fakes import FakeClock, World

pytestmark = pytest.mark.unit
FIRST, SECOND = Actor("rev-1", Role.REVIEWER), Actor("rev-2", Role.REVIEWER)
PUBLIC = Actor("public:1", Role.PUBLIC)


@pytest.fixture
def container() -> Iterator[Container]:
    c = bootstrap(Settings(store="memory"), clock=FakeClock())
    yield c
    c.close()


def test_a_video_whose_cameo_consent_went_while_it_was_down_is_not_reinstated(
        container: Container):
    app, world = container.app, World(container.app)
    author, friend = world.member(), world.member(cameo="everyone")
    gid = UUID(app.request_generation(author, "a beach", (UUID(friend.id),), 5)
               ["generation_id"])
    world.publish(gid)
    filed = app.file_takedown(PUBLIC, "nonce-1", gid, "id", "likeness", "depicted_person",
                              "This shows me and I never agreed to it.", "Jane Roe",
                              {"email": "jane@example.org"})
    request = app.get(TakedownRequest, request_id(filed["reference"]))
    app.claim_case(FIRST, request.case_id)
    app.decide_takedown(FIRST, filed["reference"], True, "LIKENESS-1")
    contested = app.file_counter_notice(author, gid, "My friend agreed to appear in it.")
    app.disable_cameo(friend)  # while it is down

    app.claim_case(SECOND, UUID(contested["case_id"]))
    with pytest.raises(InvalidTransitionError):
        app.decide_counter_notice(SECOND, filed["reference"], gid, True, "OK-1")
    assert app.get(Generation, gid).state == "taken_down"
    # upholding it is still possible
    assert app.decide_counter_notice(SECOND, filed["reference"], gid, False,
                                     "LIKENESS-1")["state"] == "upheld"


def test_a_retroactive_scan_that_crashed_resumes_at_its_cursor_and_repeats_nothing(
        container: Container, monkeypatch: pytest.MonkeyPatch):
    app, world = container.app, World(container.app)
    author = world.member()
    made = [UUID(app.request_generation(author, f"Whiskers McPurr naps, take {i}", (), 5)
                 ["generation_id"]) for i in range(3)]
    for gid in made:
        world.publish(gid)
    holder = world.rights_holder()
    app.register_work(holder, "Whiskers McPurr", "character", (), match_policy="block")

    real = app._retro_act
    calls = []

    def crash_on_second(*args: object) -> list[object]:
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(app, "_retro_act", crash_on_second)
    with pytest.raises(RuntimeError):
        app.run_retroactive_scans(batch=1)
    first = [app.get(Generation, g).state for g in made]
    assert sorted(first) == ["published", "published", "taken_down"]  # one batch done

    monkeypatch.setattr(app, "_retro_act", real)
    # the author's verification calls for a scan of her face too, which may have run
    # before the crash or runs now: the work's scan is the one resumed
    [scan] = [s for s in app.run_retroactive_scans(batch=1) if s["subject_kind"] == "work"]
    assert scan["finished"] and scan["checked"] == 3
    assert (scan["matched"], scan["blocked"]) == (3, 3)
    assert [app.get(Generation, g).state for g in made] == ["taken_down"] * 3
    assert app.run_retroactive_scans() == []


def margin_histogram(category: str) -> tuple[float, ...]:
    """The count of consentry_takedown_request_deadline_margin_seconds so far, and its
    buckets up to 1 day and up to 2 days (with negative buckets it exposes no sum)."""
    name = "consentry_takedown_request_deadline_margin_seconds"
    return tuple(REGISTRY.get_sample_value(sample, labels) or 0.0 for sample, labels in (
        (f"{name}_count", {"category": category}),
        (f"{name}_bucket", {"category": category, "le": "86400.0"}),
        (f"{name}_bucket", {"category": category, "le": "172800.0"})))


def test_deadline_margins_are_measured_while_open_and_when_actioned(container: Container):
    app, world, clock = container.app, World(container.app), container.app.clock
    author = world.member()
    gids = [UUID(app.request_generation(author, f"a beach, take {i}", (), 5)["generation_id"])
            for i in range(2)]
    for gid in gids:
        world.publish(gid)
    assert app.takedown_open_margins() == {}

    def file(gid: UUID, category: str, nonce: str) -> str:
        return str(app.file_takedown(PUBLIC, nonce, gid, "id", category, "depicted_person",
                                     "This shows me and I never agreed to it.", "Jane Roe",
                                     {"email": "jane@example.org"})["reference"])

    likeness = file(gids[0], "likeness", "nonce-1")
    clock.advance(hours=1)
    file(gids[1], "intimate_imagery", "nonce-2")
    clock.advance(hours=1)
    hours = 3600.0
    assert app.takedown_open_margins() == {"likeness": 46 * hours,
                                           "intimate_imagery": 47 * hours}

    before = margin_histogram("likeness")
    request = app.get(TakedownRequest, request_id(likeness))
    app.claim_case(FIRST, request.case_id)
    app.decide_takedown(FIRST, likeness, True, "LIKENESS-1")
    after = margin_histogram("likeness")
    # one observation, of 46 h: above the 1-day bucket, within the 2-day one
    assert [a - b for a, b in zip(after, before, strict=True)] == [1.0, 0.0, 1.0]
    assert app.takedown_open_margins() == {"intimate_imagery": 47 * hours}
    clock.advance(hours=48)
    assert app.takedown_open_margins() == {"intimate_imagery": -1 * hours}, "late: negative"
