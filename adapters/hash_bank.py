"""The two PDQ frame indexes of the takedown process, each following the log
(docs/followers.md) and caught up before every search:

- the hash bank (`BankEntry` events): what was removed, so that it stays down (rule
  STAYDOWN, the provenance lookup);
- the frames of published videos (`Generation` events): the copies a validated takedown
  removes with the video, and what a retroactive scan compares a newcomer against.

Both keep frame hashes recorded by the scan (`findings.works.frame_hashes`): nothing is
decoded again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from eventsourcing.utils import get_topic

from domain.generation import Generation
from domain.hash_bank import BankEntry, HashMatch
from domain.services.log_follower import LogFollower, Positioned
from inference.hash_bank import PdqMultiIndex

_PUBLISHED = (Generation.Published, Generation.Restored)
_GONE = (Generation.TakenDown, Generation.Deleted, Generation.Rejected,
         Generation.HeldForReview)


class BankSubscriber:
    topics = tuple(get_topic(c) for c in (BankEntry.Banked, BankEntry.Disabled,
                                          BankEntry.Enabled))

    def __init__(self, index: PdqMultiIndex) -> None:
        self.index = index

    def apply(self, events: Iterable[Positioned]) -> None:
        for _, event in events:
            if isinstance(event, BankEntry.Banked):
                self.index.add(event.originator_id, event.hashes)
            else:
                self.index.set_active(event.originator_id,
                                      isinstance(event, BankEntry.Enabled))


class PublishedFramesSubscriber:
    """A generation's frame hashes from its scan, searchable while it is published."""

    topics = tuple(get_topic(c) for c in (Generation.Scanned, *_PUBLISHED, *_GONE))

    def __init__(self, index: PdqMultiIndex) -> None:
        self.index = index

    def apply(self, events: Iterable[Positioned]) -> None:
        for _, event in events:
            if isinstance(event, Generation.Scanned):
                hashes = event.findings.get("works", {}).get("frame_hashes") or ()
                self.index.add(event.originator_id, list(hashes), active=False)
            else:
                self.index.set_active(event.originator_id, isinstance(event, _PUBLISHED))


class FollowedFrameIndex:
    """`FrameHashIndex`: catches up with the log, then searches."""

    def __init__(self, app: Any, subscriber: BankSubscriber | PublishedFramesSubscriber
                 ) -> None:
        self.index = subscriber.index
        self.follower = LogFollower(app, subscriber)

    def catch_up(self) -> int:
        return self.follower.catch_up()

    def matches(self, frame_hashes: Sequence[str]) -> list[HashMatch]:
        self.follower.catch_up()
        return self.index.matches(frame_hashes)

    def showing(self, hashes: Sequence[str]) -> list[HashMatch]:
        self.follower.catch_up()
        return self.index.showing(hashes)


def build_frame_indexes(app: Any) -> tuple[FollowedFrameIndex, FollowedFrameIndex]:
    """(the hash bank, the published videos' frames), caught up once."""
    bank = FollowedFrameIndex(app, BankSubscriber(PdqMultiIndex()))
    published = FollowedFrameIndex(app, PublishedFramesSubscriber(PdqMultiIndex()))
    bank.catch_up()
    published.catch_up()
    return bank, published
