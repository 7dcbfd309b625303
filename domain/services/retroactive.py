"""Retroactive scans (domain/retroactive.py): a work registered is checked against the prompts
of the videos already published (alias matcher), a reference added against their recorded
frame hashes, a member verified against the face-track templates their scans kept; the work's
(or the member's) match policy decides what a match does. `run_retroactive_scans` starts a
scan for every registration, reference and verification that has none and runs the
unfinished ones to their end, batch by batch (the API's periodic sweep calls it; admins can
too).

`PublishedCatalogue` follows the log (docs/followers.md): the published videos and their
prompts, the works' registrations and references, the verifications, and the scans started
and finished."""

from __future__ import annotations

import contextlib
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.actors import SYSTEM, Actor, Role
from domain.errors import ConflictError
from domain.faces import MatchDecision, likeness_key
from domain.generation import Generation, State
from domain.identity import Identity
from domain.ids import identity_id
from domain.member import Member
from domain.retroactive import ALREADY_COMPARED, PublishedFaces, RetroactiveScan, scan_id
from domain.services.access import require_role
from domain.services.log_follower import LogFollower, Positioned
from domain.services.review import ReviewCommands
from domain.work import Work

BATCH = 500
_RUNNING = threading.Lock()
_LIVE = (Generation.Published, Generation.Restored)
_GONE = (Generation.TakenDown, Generation.Deleted, Generation.Rejected,
         Generation.HeldForReview)
# A batch's finder: the videos that may show the subject, each with (generation, method,
# "match" | "review"), and how many of the batch could not be checked.
Found = tuple[list[tuple[Generation, str, str]], int]


class PublishedCatalogue:
    topics = tuple(get_topic(c) for c in (
        Generation.Requested, *_LIVE, *_GONE, Work.Registered, Work.ReferenceAdded,
        Identity.Verified, Identity.Erased, RetroactiveScan.Started,
        RetroactiveScan.Finished))

    def __init__(self) -> None:
        self.prompts: dict[UUID, str] = {}
        self.published: set[UUID] = set()
        # scan id -> (subject kind, subject id, trigger) for every scan the log calls for
        self.triggers: dict[UUID, tuple[str, UUID, str]] = {}
        self.latest_verified: dict[UUID, UUID] = {}  # identity -> its latest scan's id
        self.person_scans: dict[UUID, list[UUID]] = {}  # identity -> the scans it called for
        # a person's scan -> the log positions (after, up to) of the video scans it compares:
        # those recorded since her previous verification and up to this one (later ones ran
        # with her face in the index; earlier ones were her previous scan's)
        self.scanned_between: dict[UUID, tuple[int, int]] = {}
        self._verified_at: dict[UUID, int] = {}  # identity -> its latest Verified position
        self.unfinished: set[UUID] = set()
        self.finished: set[UUID] = set()

    def apply(self, events: Iterable[Positioned]) -> None:
        for position, event in events:
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
                    "work", event.originator_id, trigger)
            elif isinstance(event, Identity.Verified):
                # Only the latest template is compared: a scan for an earlier one that
                # has not started is not wanted any more.
                sid = scan_id(event.originator_id, f"verified:{event.originator_version}")
                self._drop_unstarted(event.originator_id)
                self.scanned_between[sid] = (
                    self._verified_at.get(event.originator_id, -1), position)
                self._verified_at[event.originator_id] = position
                self.latest_verified[event.originator_id] = sid
                self.person_scans.setdefault(event.originator_id, []).append(sid)
                self.triggers[sid] = ("person", event.originator_id,
                                      f"verified:{event.originator_version}")
            elif isinstance(event, Identity.Erased):
                self._drop_unstarted(event.originator_id)
            elif isinstance(event, RetroactiveScan.Started):
                if event.originator_id not in self.finished:
                    self.unfinished.add(event.originator_id)
            else:
                self.unfinished.discard(event.originator_id)
                self.finished.add(event.originator_id)

    def _drop_unstarted(self, identity: UUID) -> None:
        """The identity's latest scan, unless it started: not wanted for a template that
        was replaced or erased."""
        earlier = self.latest_verified.get(identity)
        if earlier is not None and earlier not in self.unfinished \
                and earlier not in self.finished:
            self.triggers.pop(earlier, None)


@dataclass(frozen=True)
class _Subject:
    """What a scan compares the videos against: its match policy, the batch finder, what
    a takedown's cause and a case name it by (and what only the case's evidence may), and
    the case's queue label."""

    policy: str
    find: Callable[[list[UUID]], Found]
    cause: dict[str, str]
    private: dict[str, str]  # for the case's evidence only
    title: str
    label: str


class RetroactiveCommands(ReviewCommands):
    # The face tracks published videos kept (adapters/face_tracks.py), set by the
    # composition root; None: a person's scan counts every video as unchecked.
    published_faces: PublishedFaces | None = None

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
            for sid, (kind, subject_id, trigger) in list(catalogue.triggers.items()):
                if sid in catalogue.unfinished or sid in catalogue.finished:
                    continue
                if kind == "person" and not self.get(Identity, subject_id).verified:
                    continue  # held as a possible duplicate: once a reviewer clears it
                with contextlib.suppress(ConflictError):  # started elsewhere
                    self.commit(RetroactiveScan.start(actor, subject_id, trigger,
                                                      len(catalogue.published), kind))
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
        subject = self._person_subject(scan) if scan.subject_kind == "person" \
            else self._work_subject(scan)
        catalogue = self._catalogue()
        pending = sorted(str(g) for g in catalogue.published)
        while not scan.finished:
            start = bisect_right(pending, scan.cursor)
            ids = pending[start:start + batch]
            if ids and subject is None:  # the person erased since: nothing was compared
                rest = pending[start:]
                scan.progress(actor, rest[-1], len(rest), [], unchecked=len(rest))
            if not ids or subject is None:
                scan.finish(actor)
                self.commit(scan)
                break
            found, unchecked = subject.find([UUID(g) for g in ids])
            matches: list[dict[str, str]] = []
            changed: list[Any] = [scan]
            for generation, method, decision in found:
                action = subject.policy if decision == "match" else (
                    "track" if subject.policy == "track" else "review")
                changed += self._retro_act(actor, scan, subject, generation, method, action)
                matches.append({"generation_id": str(generation.id), "method": method,
                                "decision": decision, "action": action})
            scan.progress(actor, ids[-1], len(ids), matches, unchecked)
            self.commit(*changed)
            scan = self.get(RetroactiveScan, sid)
        return scan_view(scan)

    def _work_subject(self, scan: RetroactiveScan) -> _Subject:
        """A work's scan: by its names (registered) or one reference's frame hashes."""
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
        prompts = self._catalogue().prompts
        # A public figure's reference face, against the face tracks the videos' scans kept
        face = self._reference_face(work, scan.trigger.split(":", 1)[1]) if by_frames else b""
        faces = self.published_faces if face else None

        def find(ids: list[UUID]) -> Found:
            decided = faces.compare(likeness_key(work.id), face, ids) \
                if faces is not None else {}
            found, unchecked = [], 0
            for gid in ids:
                time.sleep(0)  # hands the interpreter to a waiting request at once
                hit = self._retro_match(work, gid, by_frames, visual, prompts)
                if hit is None and face:
                    decision = decided.get(gid)
                    if decision is None:
                        unchecked += 1  # no face templates kept (or no port wired in)
                    elif decision != MatchDecision.NO_MATCH:
                        hit = self._likeness_hit(work, gid, decision)
                if hit is not None:
                    found.append(hit)
            return found, unchecked

        return _Subject(work.match_policy, find, {"work_id": str(work.id)}, {}, work.title,
                        "likeness" if work.kind == "likeness" else "copyright")

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

    def _reference_face(self, work: Work, digest: str) -> bytes:
        """A likeness work's reference face template, sealed (empty for any other)."""
        if work.kind != "likeness":
            return b""
        return next((e.face_template for e in self.events.get(work.id)
                     if isinstance(e, Work.ReferenceAdded) and e.digest == digest), b"")

    def _likeness_hit(self, work: Work, gid: UUID, decision: str
                      ) -> tuple[Generation, str, str] | None:
        generation = self.find(Generation, gid)
        if generation is None or generation.state != State.PUBLISHED \
                or work.id in generation.featured_work_ids \
                or work.likeness_member_id in (generation.requester_id,
                                               *generation.featured_member_ids):
            return None  # gone, weighed when it was made, or the figure's own video
        return generation, "face", decision

    def _person_subject(self, scan: RetroactiveScan) -> _Subject | None:
        """A newly verified member's scan: their template against the face tracks every
        published video's scan kept. None (nothing to compare) once the identity is no
        longer verified (erased, or a duplicate confirmed)."""
        identity = self.get(Identity, scan.subject_id)
        if not identity.verified:
            return None
        member_id, faces = identity.member_id, self.published_faces
        sealed = identity.template_ciphertext
        between = self._catalogue().scanned_between.get(scan.id)

        def find(ids: list[UUID]) -> Found:
            # Without the port nothing is compared, and every video is counted unchecked.
            decisions = faces.compare(str(identity.id), sealed, ids, between) \
                if faces is not None else {}
            found, unchecked = [], 0
            for gid in ids:
                decision = decisions.get(gid)
                if decision is None:
                    unchecked += 1
                    continue
                if decision in (MatchDecision.NO_MATCH, ALREADY_COMPARED):
                    continue
                generation = self.find(Generation, gid)
                if generation is None or generation.state != State.PUBLISHED \
                        or member_id == generation.requester_id \
                        or member_id in generation.featured_member_ids:
                    continue  # gone, their own, or their cameo consented to it
                found.append((generation, "face", decision))
            return found, unchecked

        # who she is goes into the case's evidence only, never the takedown's cause (its
        # author, client apps and webhooks see that)
        return _Subject(self.get(Member, member_id).match_policy, find, {},
                        {"member_id": str(member_id)}, "a verified member's face", "likeness")

    def _retro_act(self, actor: Actor, scan: RetroactiveScan, subject: _Subject,
                   generation: Generation, method: str, action: str) -> list[Any]:
        cause = {"kind": "retroactive", **subject.cause, "scan": str(scan.id),
                 "method": method}
        if action == "block":
            generation.take_down(actor, cause)
            return [generation]
        if action == "review":
            case = self.open_case(actor, "generation", generation.id,
                                  generation.requester_id,
                                  f"found after the fact: {subject.title} ({method})",
                                  {"retroactive": {**cause, **subject.private}}, "normal",
                                  (subject.label,))
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

    def set_person_match_policy(self, actor: Actor, policy: str,
                                key: str | None = None) -> str:
        """What a video found showing the member's face after they verified does."""
        require_role(actor, Role.MEMBER)

        def body() -> tuple[str, list[Any]]:
            member = self.get(Member, UUID(actor.id))
            member.set_match_policy(actor, policy)
            return member.match_policy, [member]

        result: str = self.run("set_person_match_policy", actor, key, {"p": policy}, body)
        return result

    def person_retroactive_scans(self, actor: Actor) -> dict[str, Any]:
        """The member's match policy and the scans their verifications started."""
        require_role(actor, Role.MEMBER)
        member = self.get(Member, UUID(actor.id))
        subject = identity_id(member.id)
        found = (self.find(RetroactiveScan, sid)
                 for sid in self._catalogue().person_scans.get(subject, ()))
        return {"match_policy": member.match_policy,
                "items": [scan_view(s) for s in found if s is not None]}


def scan_view(scan: RetroactiveScan) -> dict[str, Any]:
    work = {"work_id": str(scan.subject_id)} if scan.subject_kind == "work" else {}
    return {"id": str(scan.id), "subject_kind": scan.subject_kind, **work,
            "trigger": scan.trigger, "total": scan.total, "checked": scan.checked,
            "finished": scan.finished, **scan.counts, "matches": list(scan.matches)}
