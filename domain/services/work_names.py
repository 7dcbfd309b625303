"""The registered works' names and descriptions as the gate looks for them in prompts: the
alias index and the semantic matcher, fed from the log by a `LogFollower` in every process."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from eventsourcing.utils import get_topic

from domain.prompts import SemanticWorkMatcher, WorkAliasIndex
from domain.services.log_follower import Positioned
from domain.work import Work

log = logging.getLogger(__name__)


class WorkNames:
    """A `LogSubscriber` of `Work.Registered`. A withdrawn work stays in both indexes: a
    prompt naming it must still find it, so that the gate denies it (WORK-LICENSED, reason
    `withdrawn`) instead of letting it through as an unknown name."""

    topics = (get_topic(Work.Registered),)

    def __init__(self, aliases: WorkAliasIndex, semantic: SemanticWorkMatcher) -> None:
        self.aliases = aliases
        self.semantic = semantic
        self._loaded = False
        self.count = 0  # works registered (withdrawn ones included), as far as followed

    def apply(self, events: Iterable[Positioned]) -> None:
        works = [event for _, event in events]
        self.count += len(works)
        if not self._loaded:
            # The whole log at start: one automaton build instead of one per work, and the
            # descriptions embedded in batches.
            self.aliases.bulk_load((w.originator_id, w.aliases) for w in works)
            self.semantic.bulk_load((w.originator_id, w.aliases, w.description)
                                    for w in works)
            self._loaded = True
            return
        for work in works:
            try:
                self.aliases.add(work.originator_id, work.aliases)
            except ValueError:  # a name the index's rules now find too short
                self.aliases.bulk_load([(work.originator_id, work.aliases)])
                log.warning("work %s indexed without its too-short names",
                            work.originator_id)
            self.semantic.add(work.originator_id, work.aliases, work.description)
