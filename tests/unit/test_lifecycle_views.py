"""The Generation lifecycle lives once (domain/generation.py): whatever sequence of commands
the aggregate accepts, every read model and the job dispatcher, fed the events, agree with
the aggregate after each of them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import event as note
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.dispatch import JobDispatcher
from domain.actors import Actor, Role
from domain.errors import InvalidTransitionError
from domain.generation import PUBLIC_STATES, STEPS, TRANSITIONS, Generation, State, in_feed
from projections.feed import InMemoryFeedView
from projections.generation_status import InMemoryGenerationStatusView
from projections.provenance import InMemoryProvenanceView, public_record
from tests.fakes import HeldJobs

pytestmark = pytest.mark.unit
WORKER = Actor("w", Role.WORKER)
REVIEWER = Actor("r", Role.REVIEWER)
CASE = uuid4()

Command = Callable[[Generation], None]
COMMANDS: dict[str, Command] = {
    "allow": lambda g: g.decide(WORKER, "allow", (), (), (), {}),
    "deny": lambda g: g.decide(WORKER, "deny", ("ID-VERIFIED",), (), (), {}),
    "review": lambda g: g.decide(WORKER, "review", ("CAMEO-RESTRICTIONS",), (), (), {}),
    "render": lambda g: g.record_render(WORKER, "a" * 64, 10, 1.0, "w", 1),
    "scan": lambda g: g.record_scan(WORKER, {}),
    "serial": lambda g: g.assign_serial(WORKER, "ab"),
    "watermark": lambda g: g.record_watermark(WORKER, "ab", "m" * 64, "p" * 64),
    "publish": lambda g: g.publish(WORKER),
    "hold": lambda g: g.hold_for_review(WORKER, CASE, ("SAFETY",), ("SAFETY:1",)),
    "approve": lambda g: g.approve(REVIEWER, CASE),
    "restrict": lambda g: g.restrict(REVIEWER, CASE, "SENSITIVE"),
    "link": lambda g: g.link_case(REVIEWER, uuid4()),
    "reject": lambda g: g.reject(WORKER, ("SAFETY",)),
    "remove": lambda g: g.reject(REVIEWER, ("REVIEW:HARM-1",)),
    "take_down": lambda g: g.take_down(WORKER, {"kind": "Cameo.Disabled"}),
    "restore": lambda g: g.restore(REVIEWER, CASE),
    "delete": lambda g: g.delete(WORKER, "author"),
}


FORWARD = ("allow", "render", "scan", "serial", "watermark", "publish", "approve", "restore")


class Followers:
    """Every consumer of Generation events, fed one event at a time as the runner would."""

    def __init__(self) -> None:
        self.status = InMemoryGenerationStatusView()
        self.provenance = InMemoryProvenanceView()
        self.feed = InMemoryFeedView()
        self.dispatcher = JobDispatcher(None, HeldJobs())
        self.position = 0

    def feed_events(self, events: list[Any]) -> None:
        for event in events:
            self.position += 1
            for view in (self.status, self.provenance, self.feed):
                view.handle(self.position, event)
            self.dispatcher._track(self.position, event)

    def agree_with(self, g: Generation) -> None:
        row = self.status.rows[g.id]
        assert State(row.state) == g.state
        assert row.restricted == g.restricted
        record = public_record(self.provenance.rows[g.id], "")
        expected = PUBLIC_STATES.get(g.state, "in_progress")
        if expected == "published" and g.restricted:
            expected = "restricted"
        assert record.state == expected
        video = self.feed.videos.get(g.id)
        assert (video is not None and video.in_feed) == in_feed(g.state, g.restricted)
        assert (g.id in self.dispatcher.generations) == (g.state in STEPS)


def accepted(g: Generation) -> list[str]:
    """The commands the aggregate would accept now (tried on copies)."""
    names = []
    for name, command in sorted(COMMANDS.items()):
        try:
            command(copy.deepcopy(g))
        except InvalidTransitionError:
            continue
        names.append(name)
    return names


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_accepted_sequence_leads_every_view_to_the_aggregates_state(data: Any):
    g = Generation.request(Actor("m", Role.MEMBER), uuid4(), "a boat", (), 5)
    followers = Followers()
    followers.feed_events(g.collect_events())
    followers.agree_with(g)
    for _ in range(data.draw(st.integers(0, 30))):
        # Half the time the next step towards publication, else any command the aggregate
        # accepts (deletion aside, so runs get far), now and then any command at all.
        mode, ok = data.draw(st.integers(0, 7)), accepted(g)
        if mode == 0:
            choices = sorted(COMMANDS)
        elif mode < 4:
            choices = [n for n in ok if n != "delete"]
        else:
            choices = [n for n in ok if n in FORWARD][:1]
        name = data.draw(st.sampled_from(choices or sorted(COMMANDS)))
        try:
            COMMANDS[name](g)
        except InvalidTransitionError:
            assert not g.collect_events()  # a refused command records nothing
            continue
        followers.feed_events(g.collect_events())
        followers.agree_with(g)
        note(f"reached {g.state}")


def test_the_table_names_every_event_of_the_aggregate():
    events = {name for name, value in vars(Generation).items()
              if isinstance(value, type) and issubclass(value, Generation.Event)
              and name not in ("Event", "Created")}  # the library's base classes
    assert events == set(TRANSITIONS)


def test_a_step_exists_for_every_state_the_worker_moves_and_no_other():
    assert set(STEPS) == {State.QUEUED, State.RENDERED, State.SCANNED, State.WATERMARKED}
    assert all(State.PUBLISHED not in TRANSITIONS[name].sources
               for name in ("Rendered", "Scanned", "Watermarked", "Published"))
