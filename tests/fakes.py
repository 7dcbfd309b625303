"""Fakes passed in through `bootstrap()`, and a small builder of verified members and
rights holders through the real commands."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from adapters.bootstrap import Container
from domain.actors import SYSTEM, Actor, Role
from domain.generation import Generation
from domain.grant import GrantTerms
from domain.jobs import Job
from domain.media_scan import SafetyDecision, SafetyReport, WorkScanReport
from domain.services import Consentry
from domain.voice import VoiceScanReport


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


WORKER = Actor("worker-1", Role.WORKER)


def findings(*, tracks: tuple[dict[str, Any], ...] = (),
             matches: tuple[dict[str, Any], ...] = (), safety: str = "allow",
             frames: int = 4, frame_hashes: tuple[str, ...] = ()) -> dict[str, Any]:
    """Scan findings in the shapes the worker records (the face scan's tracks, the work
    scan's and the safety classifier's `as_findings`), so that tests recording a scan run
    the after-generation rules as the worker's scans do. The defaults: nothing found,
    safety allowed by a scripted classifier (see `ScriptedSafety`), no speech heard;
    `frame_hashes`: the PDQ of each usable frame, as the work scan records them (the hash
    bank is checked on them)."""
    frames = len(frame_hashes) or frames
    works = WorkScanReport((), ("embedding",), frames, frames, frame_hashes).as_findings()
    works["matches"] = [dict(m) for m in matches]
    return {"faces": {"configured": True, "error": "", "model_id": "test-model",
                      "frames_sampled": frames, "tracks": [dict(t) for t in tracks]},
            "works": works,
            "safety": SafetyReport((("scripted", 0.0),), SafetyDecision(safety), True,
                                   "scripted-test").as_findings(),
            "voices": VoiceScanReport("scripted-voice", ()).as_findings(),
            "frames_sampled": frames}


@dataclass
class World:
    """Builds people and works through the application's own commands."""

    app: Consentry
    admin: Actor = field(default_factory=lambda: Actor("admin-1", Role.ADMIN))
    _n: int = 0

    def member(self, handle: str | None = None, verified: bool = True,
               cameo: str | None = None) -> Actor:
        self._n += 1
        code = self.app.issue_invites(self.admin, 1)["codes"][0]
        registered = self.app.register_member(code, handle or f"member_{self._n}")
        actor = Actor(registered["member_id"], Role.MEMBER)
        if verified:
            self.verify(actor)
        if cameo:
            self.app.enable_cameo(actor, cameo)
        return actor

    def verify(self, actor: Actor) -> None:
        challenge = self.app.start_verification(actor)
        digest = hashlib.sha256(f"video-of-{actor.id}".encode()).hexdigest()
        self.app.submit_verification(actor, challenge["nonce"], digest)
        self.app.complete_verification(WORKER, UUID(actor.id), b"\x01" * 32, "test-model",
                                       0.9, 0.95)

    def mutuals(self, a: Actor, b: Actor) -> None:
        self.app.follow(a, UUID(b.id))
        self.app.follow(b, UUID(a.id))

    def rights_holder(self, name: str = "Studio") -> Actor:
        onboarded = self.app.onboard_rights_holder(SYSTEM, name, "registry-extract-1")
        return Actor(onboarded["rights_holder_id"], Role.RIGHTS_HOLDER)

    def work(self, holder: Actor, title: str, aliases: tuple[str, ...] = (),
             kind: str = "character", **terms: Any) -> tuple[UUID, UUID | None]:
        work_id = UUID(self.app.register_work(holder, title, kind, aliases))
        grant_id = None
        if terms:
            grant_id = UUID(self.app.issue_grant(holder, work_id, GrantTerms(**terms)))
        return work_id, grant_id

    def publish(self, generation_id: UUID) -> None:
        """Drives an allowed generation to Published through the worker's commands."""
        app = self.app
        app.record_render(WORKER, generation_id, "a" * 64, 48, 2.0, "w1", 1)
        app.record_scan(WORKER, generation_id, findings())
        app.record_watermark(WORKER, generation_id, "00ff00ff00ff", "b" * 64, "c" * 64)
        app.publish_generation(WORKER, generation_id)


@dataclass
class HeldJobs:
    """A job queue that only records what it was given: for tests that drive the worker's
    steps themselves (or run a recorded job when they choose)."""

    jobs: list[Job] = field(default_factory=list)

    async def enqueue(self, job: Job) -> bool:
        if job in self.jobs:
            return False
        self.jobs.append(job)
        return True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


@dataclass
class ScriptedSafety:
    """Answers what the test says. No safety classifier with real weights installs here, and
    an unconfigured one holds every video (fail closed): journeys that must reach the feed
    without a person use this stand-in, and say so."""

    decision: SafetyDecision = SafetyDecision.ALLOW
    configured: bool = True

    def scan(self, frames: Any) -> SafetyReport:
        return SafetyReport((("scripted", 1.0),), self.decision, True, "scripted-test")


def take_down(app: Consentry) -> Callable[[Actor, UUID], None]:
    """What a revocation or a reviewer's removal records on a published video, without
    staging either: for tests about what follows a takedown."""
    def run(actor: Actor, generation_id: UUID) -> None:
        generation = app.get(Generation, generation_id)
        generation.take_down(actor, {"kind": "test"})
        app.commit(generation)
    return run


def event_count(container: Container) -> int:
    return container.app.recorder.max_notification_id() or 0
