"""Retroactive scans (domain/retroactive.py): a work registered is checked against the prompts
of the videos already published (alias matcher), a reference added against their recorded
frame hashes; the work's match policy decides what a match does. `run_retroactive_scans`
starts a scan for every registration and reference that has none and runs the unfinished
ones to their end, batch by batch (the API's periodic sweep calls it; admins can too).

`PublishedCatalogue` follows the log (docs/followers.md): the published videos and their
prompts, the works' registrations and references, and the scans started and finished."""

from __future__ import annotations

import contextlib
import threading
import time
from bisect import bisect_right
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.actors import SYSTEM, Actor, Role
from domain.errors import ConflictError
from domain.faces import MatchDecision
from domain.generation import Generation, State
from domain.retroactive import RetroactiveScan, scan_id
from domain.services.access import require_role
from domain.services.log_follower import LogFollower, Positioned
from domain.services.review import ReviewCommands
from domain.work import Work

BATCH = 500
_RUNNING = threading.Lock()
_LIVE = (Generation.Published, Generation.Restored)
_GONE = (Generation.TakenDown, Generation.Deleted, Generation.Rejected,
         Generation.HeldForReview)


class PublishedCatalogue:
    topics = tuple(get_topic(c) for c in (
        Generation.Requested, *_LIVE, *_GONE, Work.Registered, Work.ReferenceAdded,
        RetroactiveScan.Started, RetroactiveScan.Finished))

    def __init__(self) -> None:
        self.prompts: dict[UUID, str] = {}
        self.published: set[UUID] = set()
        self.triggers: dict[UUID, tuple[UUID, str]] = {}  # scan id -> (work, trigger)
        self.unfinished: set[UUID] = set()
        self.finished: set[UUID] = set()

    def apply(self, events: Iterable[Positioned]) -> None:
        for _, event in events:
            if isinstance(event, Generation.Requested):
                self.prompts[event.originator_id] = event.prompt
            elif isinstance(event, _LIVE):
                self.published.add(event.originator_id)
            elif isinstance(event, _GONE):
                self.published.discard(event.originator_id)
            elif isinstance(event, Work.Registered | Work.ReferenceAdded):
                trigger = "registered" if isinstance(event, Work.Registered) \
                    else f"reference:{event.digest}"
                self.triggers[scan_id(event.originator_id, trigger)] = (
                    event.originator_id, trigger)
            elif isinstance(event, RetroactiveScan.Started):
                if event.originator_id not in self.finished:
                    self.unfinished.add(event.originator_id)
            else:
                self.unfinished.discard(event.originator_id)
                self.finished.add(event.originator_id)


class RetroactiveCommands(ReviewCommands):
    def _catalogue(self) -> PublishedCatalogue:
        follower: LogFollower | None = getattr(self, "_catalogue_follower", None)
        if follower is None:
            follower = self._catalogue_follower = LogFollower(self, PublishedCatalogue())
        follower.catch_up()
        catalogue: PublishedCatalogue = follower.subscriber  # type: ignore[assignment]
        return catalogue

    def set_match_policy(self, actor: Actor, work_id: UUID, policy: str,
                         key: str | None = None) -> str:
        require_role(actor, Role.RIGHTS_HOLDER)

        def body() -> tuple[str, list[Any]]:
            work = self.own_work(actor, work_id)
            work.set_match_policy(actor, policy)
            return work.match_policy, [work]

        result: str = self.run("set_match_policy", actor, key, {"w": work_id, "p": policy},
                               body)
        return result

    def run_retroactive_scans(self, actor: Actor = SYSTEM, batch: int = BATCH
                              ) -> list[dict[str, Any]]:
        """Starts the scans that registrations and references call for, and runs every
        unfinished one to its end; returns what each did."""
        require_role(actor, Role.SYSTEM, Role.ADMIN)
        with _RUNNING:  # one runner per process; another process's meets a conflict
            catalogue = self._catalogue()
            for sid, (work_id, trigger) in list(catalogue.triggers.items()):
                if sid not in catalogue.unfinished and sid not in catalogue.finished:
                    with contextlib.suppress(ConflictError):  # started elsewhere
                        self.commit(RetroactiveScan.start(actor, work_id, trigger,
                                                          len(catalogue.published)))
            done = []
            for sid in sorted(self._catalogue().unfinished):
                try:
                    done.append(self.run_retroactive_scan(actor, sid, batch))
                except ConflictError:
                    continue  # another process runs it; its cursor is durable
            return done

    def run_retroactive_scan(self, actor: Actor, sid: UUID, batch: int = BATCH
                             ) -> dict[str, Any]:
        """Runs one scan from its cursor to its end, one transaction per batch (the
        batch's takedowns and cases with its progress)."""
        scan = self.get(RetroactiveScan, sid, "retroactive scan")
        work = self.get(Work, scan.subject_id)
        by_frames = scan.trigger.startswith("reference:")
        visual: dict[UUID, Any] = {}
        if by_frames:
            reference = work.references.get(scan.trigger.split(":", 1)[1], {})
            hashes = [h for k, h in reference.get("hashes", {}).items()
                      if k.split("/", 1)[0] == "pdq"]
            if hashes and self.published_frames is not None:
                visual = {m.key: m for m in self.published_frames.showing(hashes)}
        else:
            self.work_names.catch_up()
        catalogue = self._catalogue()
        pending = sorted(str(g) for g in catalogue.published)
        while not scan.finished:
            start = bisect_right(pending, scan.cursor)
            ids = pending[start:start + batch]
            if not ids:
                scan.finish(actor)
                self.commit(scan)
                break
            matches: list[dict[str, str]] = []
            changed: list[Any] = [scan]
            for gid in ids:
                time.sleep(0)  # hands the interpreter to a waiting request at once
                found = self._retro_match(work, UUID(gid), by_frames, visual,
                                          catalogue.prompts)
                if found is None:
                    continue
                generation, method, decision = found
                action = work.match_policy if decision == "match" else (
                    "track" if work.match_policy == "track" else "review")
                changed += self._retro_act(actor, scan, work, generation, method, action)
                matches.append({"generation_id": gid, "method": method,
                                "decision": decision, "action": action})
            scan.progress(actor, ids[-1], len(ids), matches)
            self.commit(*changed)
            scan = self.get(RetroactiveScan, sid)
        return scan_view(scan)

    def _retro_match(self, work: Work, gid: UUID, by_frames: bool, visual: dict[UUID, Any],
                     prompts: dict[UUID, str]) -> tuple[Generation, str, str] | None:
        """The video, how it uses the work and whether surely ("match") or maybe
        ("review"); None if it does not. Its prompt (kept by the catalogue) or its frames
        are looked at first: only a video that may use the work is loaded."""
        hits = []
        if by_frames:
            if gid not in visual:
                return None
        else:
            hits = [h for h in self.alias_index.find(prompts.get(gid, ""))
                    if h.work_id == work.id]
            if not hits:
                return None
        generation = self.find(Generation, gid)
        if generation is None or generation.state != State.PUBLISHED \
                or work.id in generation.featured_work_ids:
            return None  # gone, or the work was already weighed when it was made
        if by_frames:
            decision = visual[gid].decision
            return generation, "frames", "match" if decision == MatchDecision.MATCH \
                else "review"
        return generation, hits[0].method, \
            "match" if any(h.decision == "match" for h in hits) else "review"

    def _retro_act(self, actor: Actor, scan: RetroactiveScan, work: Work,
                   generation: Generation, method: str, action: str) -> list[Any]:
        cause = {"kind": "retroactive", "work_id": str(work.id), "scan": str(scan.id),
                 "method": method}
        if action == "block":
            generation.take_down(actor, cause)
            return [generation]
        if action == "review":
            case = self.open_case(actor, "generation", generation.id,
                                  generation.requester_id,
                                  f"found after the fact: {work.title} ({method})",
                                  {"retroactive": cause}, "normal", ("copyright",))
            generation.link_case(actor, case.id)
            return [case, generation]
        return []  # track: listed on the scan, nothing taken down

    def retroactive_scans(self, actor: Actor, work_id: UUID) -> list[dict[str, Any]]:
        """The work's scans, for its rights holder (or an admin)."""
        require_role(actor, Role.RIGHTS_HOLDER, Role.ADMIN)
        work = self.own_work(actor, work_id) if actor.role == Role.RIGHTS_HOLDER \
            else self.get(Work, work_id)
        triggers = ["registered", *(f"reference:{d}" for d in work.references)]
        found = (self.find(RetroactiveScan, scan_id(work.id, t)) for t in triggers)
        return [scan_view(s) for s in found if s is not None]


def scan_view(scan: RetroactiveScan) -> dict[str, Any]:
    return {"id": str(scan.id), "work_id": str(scan.subject_id), "trigger": scan.trigger,
            "total": scan.total, "checked": scan.checked, "finished": scan.finished,
            **scan.counts, "matches": list(scan.matches)}
