"""The one way indexes follow the log: a LogFollower hands each event of its topics to its
subscriber once, in order, whichever thread asks, and reads nothing when the log is still."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from domain.services.log_follower import LogFollower, MemoryPosition, Positioned
from domain.work import Work
from tests.fakes import FakeClock, World

pytestmark = pytest.mark.unit


class Recorder:
    topics = (get_topic(Work.Registered),)

    def __init__(self, fail_once: bool = False) -> None:
        self.seen: list[tuple[int, str]] = []
        self.calls = 0
        self.fail_once = fail_once

    def apply(self, events: Iterable[Positioned]) -> None:
        self.calls += 1
        batch = [(p, e.title) for p, e in events]
        if self.fail_once:
            self.fail_once = False
            raise RuntimeError("the index could not take them")
        self.seen += batch


class Greedy(Recorder):
    """A subscriber that stops reading early: a bug the follower must not hide."""

    def apply(self, events: Iterable[Positioned]) -> None:
        next(iter(events), None)


@pytest.fixture
def container(tmp_path: Any) -> Iterator[Container]:
    c = bootstrap(Settings(store="memory", data_dir=tmp_path), clock=FakeClock())
    yield c
    c.close()


def register(world: World, *titles: str) -> None:
    holder = world.rights_holder()
    for title in titles:
        world.work(holder, title)


def test_each_event_of_its_topics_is_applied_once_in_log_order(container: Container):
    world, recorder = World(container.app), Recorder()
    follower = LogFollower(container.app, recorder)
    register(world, "Zorblax", "Quibble")
    assert follower.catch_up() == 2
    register(world, "Nimbus")
    assert follower.catch_up() == 1
    assert [title for _, title in recorder.seen] == ["Zorblax", "Quibble", "Nimbus"]
    positions = [p for p, _ in recorder.seen]
    assert positions == sorted(positions)
    assert follower.position == container.app.recorder.max_notification_id()
    assert follower.lag() == 0


def test_a_still_log_costs_no_read_and_other_topics_are_skipped(container: Container):
    world, recorder = World(container.app), Recorder()
    follower = LogFollower(container.app, recorder)
    register(world, "Zorblax")
    follower.catch_up()
    calls = recorder.calls
    assert follower.catch_up() == 0 and recorder.calls == calls  # head unchanged: no read
    world.member()  # events of other topics move the head
    assert follower.lag() > 0
    assert follower.catch_up() == 0 and follower.lag() == 0


def test_a_subscriber_that_fails_is_given_the_same_events_again(container: Container):
    world, recorder = World(container.app), Recorder(fail_once=True)
    follower = LogFollower(container.app, recorder)
    register(world, "Zorblax")
    with pytest.raises(RuntimeError):
        follower.catch_up()
    assert follower.position == 0
    assert follower.catch_up() == 1 and [t for _, t in recorder.seen] == ["Zorblax"]


def test_a_subscriber_that_stops_early_is_an_error_not_a_skipped_event(container: Container):
    world = World(container.app)
    follower = LogFollower(container.app, Greedy())
    register(world, "Zorblax", "Quibble")
    with pytest.raises(RuntimeError, match="stopped before the end"):
        follower.catch_up()
    assert follower.position == 0


def test_threads_catching_up_together_apply_each_event_once(container: Container):
    world, recorder = World(container.app), Recorder()
    follower = LogFollower(container.app, recorder, batch=2)
    register(world, *(f"Quillbeast {i}" for i in range(20)))
    start = threading.Barrier(4)

    def run() -> None:
        start.wait()
        follower.catch_up()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(recorder.seen) == 20 == len(set(recorder.seen))


def test_a_given_position_is_where_it_starts_and_what_it_moves(container: Container):
    world, recorder = World(container.app), Recorder()
    register(world, "Zorblax")
    position = MemoryPosition(container.app.recorder.max_notification_id() or 0)
    register(world, "Quibble")
    LogFollower(container.app, recorder, position).catch_up()
    assert [t for _, t in recorder.seen] == ["Quibble"]
    assert position.get() == container.app.recorder.max_notification_id()


def test_the_gate_sees_a_work_another_application_registered_on_its_next_decision(
        container: Container):
    """The work names follow the log: a work recorded without this application's
    commands (as another process would) is screened at the next decision."""
    world = World(container.app)
    member, holder = world.member(), world.rights_holder()
    work = Work.register(holder, UUID(holder.id), "Zorblax", "character", ("zorblax",))
    container.app.commit(work)  # straight to the store, as another process would
    decision = container.app.evaluate_gate(member, "zorblax on a ship", (), 5)
    assert decision.failed == ("WORK-LICENSED",)
