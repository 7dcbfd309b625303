"""A retroactive scan: when a protected work is registered or gets a new reference, the
videos already published are checked against it (their prompts by the alias and semantic
matchers, their recorded frame hashes against its references), and the work's match policy
decides what a match does: `block` (taken down, cause recorded), `review` (a case) or
`track` (listed here, nothing taken down). Progress is recorded batch by batch, in the same
transaction as what the batch did, so a scan resumes after a crash where it stopped and
acts on nothing twice."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate

_NAMESPACE = UUID("5e0b3c5d-7f0e-4a8c-b1a6-2f9d3e4c5b6a")


def scan_id(subject_id: UUID, trigger: str) -> UUID:
    """One scan per subject and trigger ("registered", "reference:<digest>")."""
    return uuid5(_NAMESPACE, f"{subject_id}:{trigger}")


class RetroactiveScan(ConsentryAggregate):
    """Invariants: the cursor only moves forward; a finished scan takes no batch."""

    class Started(ConsentryAggregate.Created):
        subject_kind: str  # "work"
        subject_id: UUID
        trigger: str
        total: int  # published videos when it started

    def __init__(self, subject_kind: str, subject_id: UUID, trigger: str, total: int,
                 **kwargs: Any) -> None:
        self.subject_kind = subject_kind
        self.subject_id = subject_id
        self.trigger = trigger
        self.total = total
        self.cursor = ""  # the last generation id checked (they are checked in id order)
        self.checked = 0
        self.counts = {"matched": 0, "blocked": 0, "reviewed": 0, "tracked": 0}
        self.matches: list[dict[str, str]] = []
        self.finished = False

    @classmethod
    def start(cls, actor: Actor, subject_id: UUID, trigger: str, total: int
              ) -> RetroactiveScan:
        return cls._create(cls.Started, id=scan_id(subject_id, trigger), actor_id=actor.id,
                           actor_role=str(actor.role), subject_kind="work",
                           subject_id=subject_id, trigger=trigger, total=total)

    class Progressed(ConsentryAggregate.Event):
        """`matches`: {generation_id, method, decision, action} for each video found."""

        cursor: str
        checked: int
        matches: tuple[dict[str, str], ...]

        def apply(self, s: RetroactiveScan) -> None:
            s.cursor = self.cursor
            s.checked += self.checked
            s.matches = [*s.matches, *self.matches]
            counts = dict(s.counts)
            counts["matched"] += len(self.matches)
            for m in self.matches:
                counts[{"block": "blocked", "review": "reviewed", "track": "tracked"}[
                    m["action"]]] += 1
            s.counts = counts

    class Finished(ConsentryAggregate.Event):
        def apply(self, s: RetroactiveScan) -> None:
            s.finished = True

    def progress(self, actor: Actor, cursor: str, checked: int,
                 matches: list[dict[str, str]]) -> None:
        self._require(not self.finished, "the scan is finished")
        self._require(cursor > self.cursor, "the cursor moves forward")
        self._emit(self.Progressed, actor, cursor=cursor, checked=checked,
                   matches=tuple(matches))

    def finish(self, actor: Actor) -> None:
        if not self.finished:
            self._emit(self.Finished, actor)
