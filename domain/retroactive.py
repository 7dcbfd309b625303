"""A retroactive scan: when a protected work is registered or gets a new reference, the
videos already published are checked against it (their prompts by the alias matcher, their
recorded frame hashes against its references); when a member becomes verified, against the
face-track templates their scans kept. The work's (or the person's) match policy decides
what a match does: `block` (taken down, cause recorded), `review` (a case) or `track`
(listed here, nothing taken down). Progress is recorded batch by batch, in the same
transaction as what the batch did, so a scan resumes after a crash where it stopped and
acts on nothing twice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID, uuid5

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate

_NAMESPACE = UUID("5e0b3c5d-7f0e-4a8c-b1a6-2f9d3e4c5b6a")
# What a match found after the fact does, chosen per work (Work.match_policy) or per person
# (Member.match_policy): the Content ID model. `review` until the protected party chooses.
MATCH_POLICIES = ("block", "review", "track")


def scan_id(subject_id: UUID, trigger: str) -> UUID:
    """One scan per subject and trigger ("registered", "reference:<digest>" for a work;
    "verified:<event version>" for a person's identity)."""
    return uuid5(_NAMESPACE, f"{subject_id}:{trigger}")


class PublishedFaces(Protocol):
    """The face-track templates that published videos' scans kept (sealed under each
    video's key), following the log; compared with a newly verified person's template."""

    def compare(self, identity_id: str, sealed_template: bytes,
                generation_ids: Sequence[UUID],
                scanned_between: tuple[int, int] | None = None) -> dict[UUID, str | None]:
        """For each video, "match", "review" or "no_match" for its nearest face track
        (the face model's thresholds), or None when it cannot be checked: its scan kept no
        templates, or templates of another model. With `scanned_between` (log positions
        `(after, up to)`), a video whose scan was recorded outside that range is
        ALREADY_COMPARED: its own scan, or an earlier retroactive one, weighed this face.
        Empty when the template no longer opens (erased)."""
        ...


ALREADY_COMPARED = "already_compared"


class RetroactiveScan(ConsentryAggregate):
    """Invariants: the cursor only moves forward; a finished scan takes no batch."""

    class Started(ConsentryAggregate.Created):
        subject_kind: str  # "work" | "person" (the subject is then the identity)
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
        # `unchecked`: videos that could not be compared (no face templates kept)
        self.counts = {"matched": 0, "blocked": 0, "reviewed": 0, "tracked": 0,
                       "unchecked": 0}
        self.matches: list[dict[str, str]] = []
        self.finished = False

    @classmethod
    def start(cls, actor: Actor, subject_id: UUID, trigger: str, total: int,
              subject_kind: str = "work") -> RetroactiveScan:
        return cls._create(cls.Started, id=scan_id(subject_id, trigger), actor_id=actor.id,
                           actor_role=str(actor.role), subject_kind=subject_kind,
                           subject_id=subject_id, trigger=trigger, total=total)

    class Progressed(ConsentryAggregate.Event):
        """`matches`: {generation_id, method, decision, action} for each video found;
        `unchecked`: how many of the `checked` videos could not be compared."""

        cursor: str
        checked: int
        matches: tuple[dict[str, str], ...]
        unchecked: int
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["unchecked"] = 0

        def apply(self, s: RetroactiveScan) -> None:
            s.cursor = self.cursor
            s.checked += self.checked
            s.matches = [*s.matches, *self.matches]
            counts = dict(s.counts)
            counts["unchecked"] += self.unchecked
            counts["matched"] += len(self.matches)
            for m in self.matches:
                counts[{"block": "blocked", "review": "reviewed", "track": "tracked"}[
                    m["action"]]] += 1
            s.counts = counts

    class Finished(ConsentryAggregate.Event):
        def apply(self, s: RetroactiveScan) -> None:
            s.finished = True

    def progress(self, actor: Actor, cursor: str, checked: int,
                 matches: list[dict[str, str]], unchecked: int = 0) -> None:
        self._require(not self.finished, "the scan is finished")
        self._require(cursor > self.cursor, "the cursor moves forward")
        self._emit(self.Progressed, actor, cursor=cursor, checked=checked,
                   matches=tuple(matches), unchecked=unchecked)

    def finish(self, actor: Actor) -> None:
        if not self.finished:
            self._emit(self.Finished, actor)
