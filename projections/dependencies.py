"""Which generations depend on which consents: the index the revocation process uses to
find, from a revocation event, every generation it may affect. It reads each generation's
featured set (people and works named, inherited through remixes at any depth, and works
found in its frames), so other people's videos featuring a cameo and remixes of them are
found directly. Pure: events in, candidates out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.cameo import Cameo
from domain.generation import DECIDED, FINAL, Generation
from domain.grant import Grant
from domain.identity import Identity
from domain.member import Member
from domain.work import Work


@dataclass(frozen=True)
class Trigger:
    """A consent change and the generations to re-check because of it."""

    kind: str  # the event, e.g. "Cameo.Disabled"
    aggregate_id: UUID
    position: int
    at: datetime
    candidates: frozenset[UUID]


class DependencyIndex:
    def __init__(self) -> None:
        self.requester: dict[UUID, UUID] = {}
        self.by_requester: dict[UUID, set[UUID]] = defaultdict(set)
        self.owners_of: dict[UUID, tuple[UUID, ...]] = {}
        self.works_of: dict[UUID, tuple[UUID, ...]] = {}
        self.by_owner: dict[UUID, set[UUID]] = defaultdict(set)
        self.by_work: dict[UUID, set[UUID]] = defaultdict(set)
        self.remixes: dict[UUID, set[UUID]] = defaultdict(set)
        self.cameo_owner: dict[UUID, UUID] = {}
        self.identity_member: dict[UUID, UUID] = {}
        self.grant_work: dict[UUID, UUID] = {}
        self.grant_ends: dict[UUID, datetime] = {}  # active grants with an end date

    def apply(self, position: int, event: Any) -> Trigger | None:
        """Updates the index; returns what to re-check if the event can revoke consent."""
        gid = event.originator_id
        match event:
            case Generation.Requested():
                self.requester[gid] = event.requester_id
                self.by_requester[event.requester_id].add(gid)
                if event.remix_of is not None:
                    self.remixes[event.remix_of].add(gid)
            case Generation.Decided():
                if DECIDED[event.outcome] in FINAL:
                    self._forget(gid)
                else:
                    self.owners_of[gid] = event.featured_member_ids
                    for owner in event.featured_member_ids:
                        self.by_owner[owner].add(gid)
                    self._add_works(gid, event.featured_work_ids)
            case Generation.Scanned():
                self._add_works(gid, event.work_ids)
            case Generation.Rejected() | Generation.Deleted():
                self._forget(gid)
            case Cameo.Created():
                self.cameo_owner[gid] = event.owner_id
            case Identity.Created():
                self.identity_member[gid] = event.member_id
            case Grant.Issued() | Grant.Amended():
                if isinstance(event, Grant.Issued):
                    self.grant_work[gid] = event.work_id
                until = event.terms.get("valid_until")
                if until:
                    self.grant_ends[gid] = datetime.fromisoformat(until)
                else:
                    self.grant_ends.pop(gid, None)
        return self._trigger(position, event)

    def _trigger(self, position: int, event: Any) -> Trigger | None:
        gid = event.originator_id
        candidates: set[UUID] = set()
        match event:
            case Cameo.Disabled() | Cameo.PermissionChanged() | Cameo.RestrictionsSet():
                candidates = self._featuring(self.cameo_owner.get(gid))
            case Cameo.ApprovalWithdrawn() | Cameo.PersonBlocked():
                candidates = {g for g in self._featuring(self.cameo_owner.get(gid))
                              if self.requester.get(g) == event.member_id}
            case Member.Unfollowed():
                # A broken mutual follow can withdraw `mutuals` consent in both directions.
                me, other = gid, event.member_id
                candidates = {g for g in self.by_owner.get(other, ())
                              if self.requester.get(g) == me}
                candidates |= {g for g in self.by_owner.get(me, ())
                               if self.requester.get(g) == other}
            case Grant.Revoked() | Grant.Expired() | Grant.Amended():
                if not isinstance(event, Grant.Amended):
                    self.grant_ends.pop(gid, None)
                work = self.grant_work.get(gid)
                candidates = set(self.by_work.get(work, ())) if work else set()
            case Work.Withdrawn():
                candidates = set(self.by_work.get(gid, ()))
            case Identity.Erased():
                candidates = self._featuring(self.identity_member.get(gid))
            case Member.Closed():
                candidates = set(self.by_requester.get(gid, ())) | self._featuring(gid)
            case _:
                return None
        name = type(event).__qualname__
        return Trigger(name, gid, position, event.timestamp, frozenset(candidates))

    def _add_works(self, gid: UUID, works: tuple[UUID, ...]) -> None:
        if gid not in self.requester:
            return  # forgotten already
        self.works_of[gid] = tuple(dict.fromkeys((*self.works_of.get(gid, ()), *works)))
        for work in works:
            self.by_work[work].add(gid)

    def _featuring(self, owner: UUID | None) -> set[UUID]:
        return set(self.by_owner.get(owner, ())) if owner is not None else set()

    def remixes_of(self, generation_ids: set[UUID]) -> set[UUID]:
        return {r for g in generation_ids for r in self.remixes.get(g, ())}

    def grants_due(self, now: datetime) -> list[UUID]:
        return [g for g, until in self.grant_ends.items() if until <= now]

    def _forget(self, gid: UUID) -> None:
        for owner in self.owners_of.pop(gid, ()):
            self.by_owner[owner].discard(gid)
        for work in self.works_of.pop(gid, ()):
            self.by_work[work].discard(gid)
        requester = self.requester.pop(gid, None)
        if requester is not None:
            self.by_requester[requester].discard(gid)
