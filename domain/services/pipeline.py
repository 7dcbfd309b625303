"""The generation worker: an allowed request becomes a published video, a held one (a review
case with the evidence) or a rejected one. Render → scan (faces, protected works, safety,
voices) → after-generation rules → watermark, visible mark, C2PA, read-back → consent
re-check → publish. Every step is recorded as an event before the next one starts, so a retried or
re-delivered job resumes where the last attempt stopped and adds nothing twice.

Fail closed: a scanner that is not configured, raises or runs over its time yields a
finding that holds the video for review; any other error is retried by the queue and, once
the attempts are used up, `give_up` holds the generation with the error."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from domain.actors import Actor, Role
from domain.cameo import Cameo
from domain.errors import ConflictError, DomainError, InvalidTransitionError
from domain.faces import FaceTemplate, TrackVerdict, generation_key
from domain.gate.post_rules import CONSENT_STILL_VALID, PIPELINE_ERROR, WATERMARK_READBACK
from domain.generation import STEPS, Generation, State
from domain.generator import CameoReference, RenderRequest
from domain.identity import Identity
from domain.ids import cameo_id, identity_id
from domain.jobs import Job, TransientJobError
from domain.member import Member
from domain.observe import NullObserver, PipelineObserver
from domain.pipeline_ports import Frames, FrameScanner, PipelinePorts
from domain.provenance import ProvenanceClaim

log = logging.getLogger(__name__)
T = TypeVar("T")
class StepTimeoutError(TimeoutError):
    pass


@dataclass
class PipelineSettings:
    width: int = 640
    height: int = 360
    fps: int = 24
    sample_fps: float = 2.0
    evidence_frames: int = 3
    # Seconds each step may take before its result is discarded (the step's thread is
    # left to finish; nothing it computes is recorded).
    timeouts: dict[str, float] = field(default_factory=lambda: {
        "render": 300.0, "faces": 120.0, "works": 120.0, "safety": 120.0,
        "voices": 120.0, "watermark": 300.0})


class GenerationPipeline:
    """`app` is the Consentry application (its worker commands are idempotent per
    generation and step). `handle` is the job handler; `give_up` the queue's last resort."""

    def __init__(self, app: Any, ports: PipelinePorts,
                 settings: PipelineSettings | None = None, worker: str | None = None,
                 observer: PipelineObserver | None = None) -> None:
        self.app = app
        self.observer: PipelineObserver = observer or NullObserver()
        self.ports = ports
        self.settings = settings or PipelineSettings()
        self.worker = worker or f"{socket.gethostname()}-{os.getpid()}"
        self.actor = Actor(f"worker:{self.worker}", Role.WORKER)
        self.stage_seconds: dict[str, float] = {}
        self._steps: dict[str, Callable[[Generation, int], State]] = {
            "render": self._render, "scan": self._scan, "finish": self._finish,
            "publish": self._publish}

    # -- the job -----------------------------------------------------------------------
    def handle(self, job: Job, attempt: int) -> None:
        """Runs the steps the generation's state calls for (domain.generation.STEPS), one
        load of the generation per step. A generation that someone else settled meanwhile
        (taken down, deleted, rejected, held) ends the job quietly."""
        generation_id = UUID(job.subject_id)
        self.stage_seconds = {}
        for _ in range(len(STEPS)):
            generation = self.app.get(Generation, generation_id)
            step = STEPS.get(generation.state)
            if step is None:
                if generation.state in (State.REJECTED, State.DELETED):
                    self._delete_artifacts(generation)  # also what a late attempt wrote
                return
            try:
                with self.observer.step(step, job.subject_id):
                    after = self._steps[step](generation, attempt)
            except (InvalidTransitionError, ConflictError):
                now = self.app.get(Generation, generation_id)
                if now.state in STEPS and now.state == generation.state:
                    raise TransientJobError(f"generation {generation_id} changed while "
                                            f"its {step} step ran") from None
                continue  # someone else moved it: the next round looks at where it is
            if after in (State.REJECTED, State.DELETED):
                self._delete_artifacts(self.app.get(Generation, generation_id))
            if after not in STEPS:
                return

    def give_up(self, job: Job, error: BaseException) -> None:
        """Fail closed: hold the generation for review with the error, never publish."""
        try:
            self.app.hold_generation(self.actor, UUID(job.subject_id), (PIPELINE_ERROR,),
                                     {"error": f"{type(error).__name__}: {error}"[:500]},
                                     "high")
        except DomainError:
            log.warning("could not hold %s after giving up", job.id, exc_info=True)

    def close(self) -> None:
        """Nothing to release: each step's thread ends with the step."""

    # -- steps: each returns the state it left the generation in -----------------------
    def _render(self, g: Generation, attempt: int) -> State:
        after = self._consent_check(g)
        if after is not None:
            return after
        cameos = []
        for owner_id in g.featured_member_ids:  # a remix shows its source's cameos too
            face = self.ports.cameo_faces.reference(owner_id)
            if face is None:  # erased since the consent check: never render without it
                return self._reject(g, (CONSENT_STILL_VALID, "CAMEO-ENABLED"))
            member = self.app.get(Member, owner_id)
            cameo = self.app.find(Cameo, cameo_id(owner_id))
            cameos.append(CameoReference(str(owner_id), member.handle, face,
                                         cameo.instructions if cameo is not None else ""))
        s = self.settings
        request = RenderRequest(str(g.id), g.prompt, float(g.seconds), s.width, s.height, s.fps,
                                tuple(cameos), seed=g.id.int & 0x7FFFFFFF)
        clip = self._bounded("render", self.ports.generator.render, request)
        digest = self.ports.blobs.put(clip.mp4, "video/mp4")
        return State(self.app.record_render(
            self.actor, g.id, digest, clip.frames, clip.seconds,
            f"{self.worker}/{self.ports.generator.name}", attempt))

    def _scan(self, g: Generation, attempt: int) -> State:
        rendered = self.ports.blobs.get(g.artifact_digest)
        frames = self._timed("decode", self.ports.video.sample, rendered,
                             self.settings.sample_fps)
        faces, sealed_tracks = self._face_findings(g, frames)
        findings: dict[str, Any] = {
            "faces": faces,
            "works": self._scanner_findings("works", self.ports.works, frames),
            "safety": self._scanner_findings("safety", self.ports.safety, frames),
            "voices": self._voice_findings(g, rendered),
            "frames_sampled": len(frames)}
        # Frames for a reviewer, kept only if the rules ask for one: the scan's record
        # decides in the same transaction, so they are made before it.
        evidence = self._evidence(frames, findings)
        result = self.app.record_scan(self.actor, g.id, findings, tuple(evidence),
                                      sealed_tracks=sealed_tracks)
        if result["outcome"] != "review":
            for digest in evidence:  # a rejected or allowed video keeps no pictures
                self.ports.blobs.delete(digest)
        return State(result["state"])

    def _finish(self, g: Generation, attempt: int) -> State:
        after = self._consent_check(g)
        if after is not None:
            return after
        payload = self.app.assign_watermark_serial(self.actor, g.id)
        handle = self.app.get(Member, g.requester_id).handle
        claim = ProvenanceClaim(str(g.id), payload, created_at=g.created_on,
                                system=self.ports.generator.name, extra={"creator": handle})
        signed = self._bounded("watermark", self._mark_and_sign, g, payload, handle, claim,
                               timed=False)
        if signed is None:
            self.app.hold_generation(self.actor, g.id, (WATERMARK_READBACK,),
                                     {"payload": payload.hex()}, "high")
            return State.HELD
        digest = self.ports.blobs.put(signed, "video/mp4")
        # The manifest itself travels inside the published file; the event keeps a digest
        # of the claim it asserts, to compare with what a reader finds.
        manifest = hashlib.sha256(json.dumps(
            {"generation_id": claim.generation_id, "payload": payload.hex(), **claim.extra},
            sort_keys=True).encode()).hexdigest()
        return State(self.app.record_watermark(self.actor, g.id, payload.hex(), manifest,
                                               digest))

    def _mark_and_sign(self, g: Generation, payload: bytes, handle: str,
                       claim: ProvenanceClaim) -> bytes | None:
        """Invisible mark, visible mark, H.264 (the rendered audio copied in), read-back of
        both, C2PA; None when the watermark or the manifest does not read back from the
        file to be published."""
        p = self.ports
        rendered = p.blobs.get(g.artifact_digest)
        frames, fps = self._timed("decode", p.video.decode, rendered)
        marked = self._timed("watermark", p.watermarker.embed, frames, payload)
        if p.marker is not None:
            marked = self._timed("visible_mark", p.marker.apply, marked, handle, fps)
        mp4 = self._timed("encode", p.video.encode, marked, fps, rendered)
        reading = self._timed("readback", lambda: p.watermarker.detect(p.video.decode_luma(mp4)))
        if reading.payload != payload:
            return None
        signed = self._timed("c2pa", p.signer.sign_bytes, mp4, claim)
        record = p.signer.read_bytes(signed)
        if not record.valid or record.generation_id != str(g.id):
            return None
        return signed

    def _publish(self, g: Generation, attempt: int) -> State:
        after = self._consent_check(g)
        if after is not None:
            return after
        return State(self.app.publish_generation(self.actor, g.id))

    # -- helpers -----------------------------------------------------------------------
    def _consent_check(self, g: Generation) -> State | None:
        """CONSENT-STILL-VALID, before rendering, before marking and before publishing:
        None when consent still holds, else the state the check left it in (rejected,
        or held for a person when a rule now needs one)."""
        return self.app.enforce_consent(self.actor, (g.id,)).get(g.id)

    def _reject(self, g: Generation, rule_codes: Sequence[str]) -> State:
        return State(self.app.reject_generation(self.actor, g.id, tuple(rule_codes)))

    def _delete_artifacts(self, g: Generation) -> None:
        for digest in g.files:
            self.ports.blobs.delete(digest)

    def _face_findings(self, g: Generation, frames: Frames
                       ) -> tuple[dict[str, Any], tuple[bytes, ...]]:
        """The findings to record, and each track's template sealed under the video's key
        (in the order of the tracks; none when no sealer is wired in)."""
        faces = self.ports.faces
        if not faces.configured:
            return {"configured": False, "error": "", "tracks": []}, ()
        cameos: dict[str, FaceTemplate] = {}
        for owner_id in g.featured_member_ids:
            template = self.ports.cameo_faces.template(owner_id)
            if template is not None:
                cameos[str(identity_id(owner_id))] = template
        try:
            report = self._bounded("faces", faces.scan_frames, frames, cameos)
        except Exception as exc:  # fail closed: recorded, and the rules hold the video
            log.exception("face scan of %s failed", g.id)
            return {"configured": True, "error": f"{type(exc).__name__}: {exc}"[:300],
                    "tracks": []}, ()
        sealer, key = self.ports.sealer, generation_key(g.id)
        templates = [t.template for t in report.tracks]
        sealed = tuple(sealer.seal(key, t) for t in templates if t is not None) \
            if sealer is not None and None not in templates else ()
        return {"configured": True, "error": "", "model_id": report.model_id,
                "frames_sampled": report.frames_sampled,
                "tracks": [self._track(t) for t in report.tracks]}, sealed

    def _track(self, track: Any) -> dict[str, Any]:
        return {"track_id": track.track_id, "verdict": str(track.verdict),
                "first_seconds": round(track.first_seconds, 2),
                "last_seconds": round(track.last_seconds, 2), "frames": track.frames,
                "largest_face_px": round(track.largest_face_px, 1),
                "candidates": [{"subject_id": c.subject_id,
                                "member_id": self._member_of(c.subject_id),
                                "distance": round(c.distance, 4), "decision": str(c.decision),
                                "frames_matching": c.frames_matching, "is_cameo": c.is_cameo}
                               for c in track.candidates]}

    def _member_of(self, subject_id: str) -> str | None:
        try:
            identity = self.app.find(Identity, UUID(subject_id))
        except ValueError:
            return None
        return str(identity.member_id) if identity is not None else None

    def _scanner_findings(self, name: str, scanner: FrameScanner, frames: Frames
                          ) -> dict[str, Any]:
        try:
            report = self._bounded(name, scanner.scan, frames)
        except Exception as exc:
            log.exception("%s scan failed", name)
            return {"configured": True, "error": f"{type(exc).__name__}: {exc}"[:300]}
        findings: dict[str, Any] = report.as_findings()
        return findings

    def _voice_findings(self, g: Generation, media: bytes) -> dict[str, Any]:
        """VOICE-NOT-OTHERS' findings on the rendered file's audio; the featured cameo
        owners' voices are theirs to lend, as their faces are."""
        voices = self.ports.voices
        if voices is None:
            return {"configured": False, "error": "", "segments": [],
                    "reason": "no voice scan is wired into this worker"}
        consenting = frozenset(str(identity_id(m)) for m in g.featured_member_ids)
        try:
            report = self._bounded("voices", voices.scan, media, consenting)
        except Exception as exc:  # fail closed: recorded, and the rule holds the video
            log.exception("voice scan of %s failed", g.id)
            return {"configured": True, "error": f"{type(exc).__name__}: {exc}"[:300],
                    "segments": []}
        found: dict[str, Any] = report.as_findings()
        for segment in found["segments"]:
            subject = segment["subject_id"]
            segment["member_id"] = self._member_of(subject) if subject else None
        return found

    def _evidence(self, frames: Frames, findings: dict[str, Any]) -> list[str]:
        """A few sampled frames for the reviewer: those where flagged faces appear first,
        else evenly spaced ones."""
        if not frames:
            return []
        wanted = [t["first_seconds"] for t in findings["faces"].get("tracks", [])
                  if t["verdict"] in (TrackVerdict.OTHER_IDENTITY, TrackVerdict.REVIEW)]
        count = self.settings.evidence_frames
        def nearest(seconds: float) -> Any:
            return min(frames, key=lambda frame: abs(frame[0] - seconds))

        picks = [nearest(s) for s in wanted[:count]] or [
            frames[i * (len(frames) - 1) // max(1, count - 1)] for i in range(count)]
        unique = {id(f): f for f in picks}.values()
        return [self.ports.blobs.put(self.ports.video.jpeg(f[1]), "image/jpeg")
                for f in unique]

    def _timed(self, stage: str, fn: Callable[..., T], *args: Any) -> T:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            seconds = time.perf_counter() - started
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + seconds
            self.observer.stage(stage, seconds)

    def _bounded(self, step: str, fn: Callable[..., T], *args: Any, timed: bool = True) -> T:
        """Runs a step with its time limit; over it, StepTimeoutError (its result, if it
        ever comes, is dropped)."""
        limit = self.settings.timeouts.get(step)
        # A thread of its own: the limit counts from the step's start, and a step that
        # overran (and keeps running) takes no capacity from the next one.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"pipeline-{step}")
        try:
            future = pool.submit(self._timed, step, fn, *args) if timed \
                else pool.submit(fn, *args)
            done, _ = wait([future], timeout=limit)
            if not done:
                raise StepTimeoutError(f"{step} took longer than {limit} s")
            return future.result()
        finally:
            pool.shutdown(wait=False)
