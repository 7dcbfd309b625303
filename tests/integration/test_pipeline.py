"""The generation worker's decisions, on the real application (in memory) with scripted
scanners and media: what is published, held with evidence or rejected, that a resumed or
repeated job adds no event, and that nothing is published when something fails."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest

from adapters.blob_store import LocalFileBlobStore
from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from domain.actors import SYSTEM, Actor, Role
from domain.faces import (
    FaceScanReport,
    FaceTemplate,
    FaceTrackFinding,
    MatchDecision,
    Metric,
    SubjectMatch,
    TrackVerdict,
)
from domain.generation import Generation
from domain.generator import RenderedClip, RenderRequest
from domain.ids import identity_id
from domain.jobs import GENERATE, Job
from domain.pipeline_ports import PipelinePorts
from domain.provenance import ProvenanceClaim, ProvenanceRecord, WatermarkReading
from domain.review_case import ReviewCase
from domain.services.pipeline import GenerationPipeline, PipelineSettings
from domain.voice import VoiceFinding, VoiceScanReport, VoiceVerdict
from tests.fakes import World, event_count

pytestmark = pytest.mark.integration
TEMPLATE = FaceTemplate("scripted", Metric.L2, (1.0, 0.0))


@dataclass
class Generator:
    name: str = "scripted"
    fail: bool = False
    requests: list[RenderRequest] = field(default_factory=list)

    def render(self, request: RenderRequest) -> RenderedClip:
        if self.fail:
            raise RuntimeError("the GPU fell over")
        self.requests.append(request)
        mp4 = f"clip of {request.prompt} with {len(request.cameos)} cameos".encode()
        return RenderedClip(mp4, 48, request.seconds, request.width, request.height,
                            self.name)


@dataclass
class CameoFaces:
    erased: set[UUID] = field(default_factory=set)

    def template(self, member_id: UUID) -> FaceTemplate | None:
        return None if member_id in self.erased else TEMPLATE

    def reference(self, member_id: UUID) -> bytes | None:
        return None if member_id in self.erased else b"png of " + member_id.bytes


@dataclass
class Faces:
    """Reports one track per entry of `people`: (subject identity id, verdict)."""

    people: list[tuple[str, TrackVerdict]] = field(default_factory=list)
    configured: bool = True
    error: Exception | None = None
    seen_cameos: list[Mapping[str, FaceTemplate]] = field(default_factory=list)

    def scan_frames(self, frames: Any, cameos: Mapping[str, FaceTemplate]) -> FaceScanReport:
        self.seen_cameos.append(dict(cameos))
        if self.error:
            raise self.error
        tracks = []
        for n, (subject, verdict) in enumerate(self.people):
            decision = MatchDecision.REVIEW if verdict is TrackVerdict.REVIEW \
                else MatchDecision.MATCH
            tracks.append(FaceTrackFinding(
                n, 0.0, 1.0, 2, 120.0, 200.0,
                (SubjectMatch(subject, 0.3, decision, 2, subject in cameos),), verdict))
        return FaceScanReport("scripted", len(frames), tuple(tracks))


@dataclass
class Voices:
    """Hears one stretch of speech per entry of `speakers`: (identity id, verdict)."""

    speakers: list[tuple[str, VoiceVerdict]] = field(default_factory=list)
    configured: bool = True
    error: Exception | None = None
    heard: list[tuple[bytes, frozenset[str]]] = field(default_factory=list)

    def scan(self, media: bytes, consenting: frozenset[str]) -> VoiceScanReport:
        self.heard.append((media, consenting))
        if self.error:
            raise self.error
        if not self.configured:
            return VoiceScanReport("scripted-voice", (), configured=False,
                                   reason="no speaker model is configured")
        return VoiceScanReport("scripted-voice", tuple(
            VoiceFinding(n, n + 1.5, subject, 0.05, verdict)
            for n, (subject, verdict) in enumerate(self.speakers)))


@dataclass
class Report:
    data: dict[str, Any]

    def as_findings(self) -> dict[str, Any]:
        return dict(self.data)


@dataclass
class Scanner:
    data: dict[str, Any]

    def scan(self, frames: Any) -> Report:
        return Report(self.data)


class Video:
    def sample(self, mp4: bytes, fps: float) -> list[tuple[float, Any]]:
        return [(0.0, b"f0"), (0.5, b"f1"), (1.0, b"f2")]

    def decode(self, mp4: bytes) -> tuple[Any, float]:
        return mp4, 24.0

    def decode_luma(self, mp4: bytes) -> Any:
        return mp4

    def encode(self, frames: Any, fps: float, audio_from: bytes | None = None) -> bytes:
        assert audio_from is not None and audio_from.startswith(b"clip of"), \
            "the rendered file's audio goes into the published one"
        return b"h264:" + bytes(frames)

    def jpeg(self, frame: Any) -> bytes:
        return b"jpeg:" + bytes(frame)


@dataclass
class Watermarker:
    readable: bool = True
    payload_bytes: int = 6

    def embed(self, frames: Any, payload: bytes) -> Any:
        return bytes(frames) + b"|wm=" + payload

    def detect(self, frames: Any) -> WatermarkReading:
        data = bytes(frames)
        found = data.split(b"|wm=")[-1][:6] if self.readable and b"|wm=" in data else None
        return WatermarkReading(found, 1.0 if found else 0.5, 1e-12 if found else 1.0)


class Signer:
    def sign_bytes(self, mp4: bytes, claim: ProvenanceClaim) -> bytes:
        return mp4 + b"|c2pa=" + claim.generation_id.encode()

    def read_bytes(self, mp4: bytes) -> ProvenanceRecord:
        generation = mp4.split(b"|c2pa=")[-1].decode()
        return ProvenanceRecord(generation, None, True, False, "trainedAlgorithmicMedia")


ALLOW = {"configured": True, "error": "", "decision": "allow", "labels": {"neutral": 0.9}}
NO_WORKS = {"configured": True, "error": "", "unchecked": ["embedding"], "matches": [],
            "frame_hashes": []}


@dataclass
class Rig:
    container: Container
    world: World
    ports: PipelinePorts
    pipeline: GenerationPipeline
    requester: Actor
    friend: Actor

    @property
    def app(self) -> Any:
        return self.container.app

    def request(self, prompt: str = "a picnic in the park", cameos: tuple[Actor, ...] = ()
                ) -> UUID:
        result = self.app.request_generation(self.requester, prompt,
                                             tuple(UUID(c.id) for c in cameos), 4)
        assert result["outcome"] == "allow", result
        return UUID(result["generation_id"])

    def run(self, generation_id: UUID, attempt: int = 1) -> Generation:
        self.pipeline.handle(Job(GENERATE, str(generation_id)), attempt)
        generation: Generation = self.app.get(Generation, generation_id)
        return generation


@pytest.fixture
def rig(tmp_path: Any) -> Rig:
    container = bootstrap(Settings(store="memory", data_dir=tmp_path),
                          blobs=LocalFileBlobStore(tmp_path / "blobs"))
    world = World(container.app)
    requester = world.member("ana", cameo="mutuals")
    friend = world.member("ben", cameo="mutuals")
    world.mutuals(requester, friend)
    ports = PipelinePorts(generator=Generator(), blobs=container.blobs,
                          cameo_faces=CameoFaces(), faces=Faces(), works=Scanner(NO_WORKS),
                          safety=Scanner(ALLOW), video=Video(), watermarker=Watermarker(),
                          signer=Signer(), voices=Voices())
    pipeline = GenerationPipeline(container.app, ports, PipelineSettings(), worker="w1")
    yield Rig(container, world, ports, pipeline, requester, friend)
    pipeline.close()
    container.close()


def test_an_allowed_request_is_rendered_scanned_watermarked_and_published(rig: Rig):
    generation_id = rig.request(cameos=(rig.friend,))
    rig.ports.faces.people = [(str(identity_id(UUID(rig.friend.id))), TrackVerdict.CAMEO)]
    g = rig.run(generation_id)
    assert g.state == "published"
    assert g.scanned and g.watermarked
    assert len(bytes.fromhex(g.watermark_payload)) == 6
    published = rig.container.blobs.get(g.published_digest)
    assert published.endswith(b"|c2pa=" + str(generation_id).encode())
    rules = {r["code"]: r["outcome"] for r in g.findings["post_rules"]}
    assert rules == {"FACE-CONSENTED": "pass", "FACE-NOT-OTHERS": "pass",
                     "WORK-VISUAL": "pass", "SAFETY": "pass", "VOICE-NOT-OTHERS": "pass",
                     "STAYDOWN": "pass"}
    # the generator got the cameo's reference face, the face scan her template, the voice
    # scan the rendered file with her as the one consenting voice
    friend = str(identity_id(UUID(rig.friend.id)))
    assert [c.owner_id for c in rig.ports.generator.requests[0].cameos] == [rig.friend.id]
    assert list(rig.ports.faces.seen_cameos[0]) == [friend]
    [(media, consenting)] = rig.ports.voices.heard
    assert media.startswith(b"clip of a picnic") and consenting == frozenset({friend})


def test_running_the_job_again_adds_no_event(rig: Rig):
    generation_id = rig.request()
    rig.run(generation_id)
    events = event_count(rig.container)
    assert rig.run(generation_id, attempt=2).state == "published"
    assert event_count(rig.container) == events
    assert len(rig.ports.generator.requests) == 1


def test_a_verified_person_nobody_asked_for_is_rejected_and_the_render_deleted(rig: Rig):
    stranger = rig.world.member("cleo")
    generation_id = rig.request()
    rig.ports.faces.people = [(str(identity_id(UUID(stranger.id))), TrackVerdict.OTHER_IDENTITY)]
    g = rig.run(generation_id)
    assert g.state == "rejected"
    assert "FACE-NOT-OTHERS" in g.rule_codes
    assert not rig.container.blobs.exists(g.artifact_digest)
    track = g.findings["faces"]["tracks"][0]
    assert track["candidates"][0]["member_id"] == stranger.id


def test_a_near_threshold_face_is_held_with_frames_scores_and_trace(rig: Rig):
    stranger = rig.world.member("dora")
    generation_id = rig.request()
    rig.ports.faces.people = [(str(identity_id(UUID(stranger.id))), TrackVerdict.REVIEW)]
    g = rig.run(generation_id)
    assert g.state == "held"
    case = rig.app.get(ReviewCase, g.case_ids[-1])
    assert "FACE-NOT-OTHERS" in case.reason
    assert case.evidence["trace"] and case.evidence["post_rules"]
    assert case.evidence["findings"]["faces"]["tracks"][0]["candidates"][0]["distance"] == 0.3
    frames = case.evidence["frames"]
    assert frames and all(rig.container.blobs.get(d).startswith(b"jpeg:") for d in frames)


def test_a_verified_persons_voice_nobody_asked_for_is_rejected(rig: Rig):
    stranger = rig.world.member("vic")
    rig.ports.voices.speakers = [(str(identity_id(UUID(stranger.id))),
                                  VoiceVerdict.OTHER_IDENTITY)]
    g = rig.run(rig.request())
    assert g.state == "rejected" and g.rule_codes == ("VOICE-NOT-OTHERS",)
    assert not rig.container.blobs.exists(g.artifact_digest)
    [segment] = g.findings["voices"]["segments"]
    assert segment["member_id"] == stranger.id and segment["verdict"] == "other_identity"


def test_a_near_threshold_voice_is_held_for_a_person_to_listen(rig: Rig):
    stranger = rig.world.member("val")
    rig.ports.voices.speakers = [(str(identity_id(UUID(stranger.id))), VoiceVerdict.REVIEW)]
    g = rig.run(rig.request())
    assert g.state == "held"
    case = rig.app.get(ReviewCase, g.case_ids[-1])
    assert "VOICE-NOT-OTHERS" in case.reason
    rule = {r["code"]: r for r in case.evidence["post_rules"]}["VOICE-NOT-OTHERS"]
    assert rule["outcome"] == "review"
    assert case.evidence["findings"]["voices"]["segments"][0]["member_id"] == stranger.id


def test_a_cameos_own_voice_and_voices_nobody_enrolled_are_published(rig: Rig):
    friend = str(identity_id(UUID(rig.friend.id)))
    rig.ports.faces.people = [(friend, TrackVerdict.CAMEO)]
    rig.ports.voices.speakers = [(friend, VoiceVerdict.CONSENTED)]
    assert rig.run(rig.request(cameos=(rig.friend,))).state == "published"


def test_a_held_video_approved_by_a_reviewer_goes_on_to_publication(rig: Rig):
    stranger = rig.world.member("eve")
    generation_id = rig.request()
    rig.ports.faces.people = [(str(identity_id(UUID(stranger.id))), TrackVerdict.REVIEW)]
    g = rig.run(generation_id)
    g.approve(rig.world.admin, g.case_ids[-1])
    rig.app.commit(g)
    assert rig.run(generation_id).state == "published"


@pytest.mark.parametrize("section", ["faces", "works", "safety", "voices",
                                     "voices-failing", "voices-absent"])
def test_a_scanner_that_is_not_configured_or_fails_holds_instead_of_publishing(
        rig: Rig, section: str):
    if section == "faces":
        rig.ports.faces.error = RuntimeError("model crashed")
    elif section == "works":
        rig.ports.works = Scanner({"configured": False, "error": "", "matches": []})
    elif section == "safety":
        rig.ports.safety = Scanner({"configured": False, "error": "", "labels": {}})
    elif section == "voices":
        rig.ports.voices.configured = False
    elif section == "voices-failing":
        rig.ports.voices.error = RuntimeError("speaker model crashed")
    else:
        rig.ports.voices = None
    g = rig.run(rig.request())
    assert g.state == "held"
    assert not g.watermarked
    if section.startswith("voices"):
        rule = {r["code"]: r for r in g.findings["post_rules"]}["VOICE-NOT-OTHERS"]
        assert rule["outcome"] == "review" and rule["evidence"]["reason"].startswith(
            "voice scan"), rule


def test_an_unlicensed_work_in_the_frames_is_rejected_a_licensed_one_is_not(rig: Rig):
    holder = rig.world.rights_holder()
    secret, _ = rig.world.work(holder, "Captain Secret")
    licensed, _ = rig.world.work(holder, "Open Bird", audience="everyone",
                                 uses=("generate", "remix"))
    match = {"method": "pdq", "score": 12, "decision": "match", "reference": "r" * 64}
    rig.ports.works = Scanner({**NO_WORKS, "matches": [{**match, "work_id": str(licensed)}]})
    assert rig.run(rig.request("a bird")).state == "published"
    rig.ports.works = Scanner({**NO_WORKS, "matches": [{**match, "work_id": str(secret)}]})
    g = rig.run(rig.request("a sky"))
    assert g.state == "rejected"
    assert "WORK-VISUAL" in g.rule_codes


def test_a_cameo_revoked_while_rendering_is_never_published(rig: Rig):
    generation_id = rig.request(cameos=(rig.friend,))
    rig.ports.faces.people = [(str(identity_id(UUID(rig.friend.id))), TrackVerdict.CAMEO)]
    original = rig.ports.signer.sign_bytes

    def revoke_then_sign(mp4: bytes, claim: ProvenanceClaim) -> bytes:
        rig.app.disable_cameo(rig.friend)
        return original(mp4, claim)

    rig.ports.signer.sign_bytes = revoke_then_sign  # type: ignore[method-assign]
    g = rig.run(generation_id)
    assert g.state == "rejected"
    assert "CONSENT-STILL-VALID" in g.rule_codes


def test_a_watermark_that_does_not_read_back_holds_the_video(rig: Rig):
    rig.ports.watermarker.readable = False
    g = rig.run(rig.request())
    assert g.state == "held"
    assert not g.watermarked


def test_giving_up_after_errors_holds_the_generation_instead_of_dropping_it(rig: Rig):
    rig.ports.generator.fail = True
    generation_id = rig.request()
    with pytest.raises(RuntimeError):
        rig.run(generation_id)
    assert rig.app.get(Generation, generation_id).state == "queued"
    rig.pipeline.give_up(Job(GENERATE, str(generation_id)), RuntimeError("the GPU fell over"))
    g = rig.app.get(Generation, generation_id)
    assert g.state == "held"
    case = rig.app.get(ReviewCase, g.case_ids[-1])
    assert "PIPELINE-ERROR" in case.reason and "GPU" in case.evidence["error"]


def test_an_approval_before_the_scan_does_not_waive_what_the_scanners_find_later(rig: Rig):
    """A worker error held it before any scan; the reviewer's approval covers that error,
    not the findings of scanners that had not run yet."""
    generation_id = rig.request()
    rig.pipeline.give_up(Job(GENERATE, str(generation_id)), RuntimeError("GPU gone"))
    g = rig.app.get(Generation, generation_id)
    g.approve(rig.world.admin, g.case_ids[-1])
    rig.app.commit(g)
    rig.ports.safety = Scanner({"configured": False, "error": "", "labels": {}})
    g = rig.run(generation_id)
    assert g.state == "held" and not g.watermarked


def test_a_rejected_video_keeps_no_frames_of_anyone(rig: Rig):
    stranger = rig.world.member("fay")
    rig.ports.faces.people = [(str(identity_id(UUID(stranger.id))), TrackVerdict.OTHER_IDENTITY)]
    def files() -> set[Any]:
        return {p for p in rig.container.blobs.root.rglob("*")  # type: ignore[attr-defined]
                if p.is_file()}

    before = files()
    g = rig.run(rig.request())
    assert g.state == "rejected" and g.findings["evidence_frames"] == []
    assert files() == before


def test_consent_that_now_needs_a_person_holds_the_video_before_it_is_marked(rig: Rig):
    generation_id = rig.request("friends at a knife fight", cameos=(rig.friend,))
    rig.ports.faces.people = [(str(identity_id(UUID(rig.friend.id))), TrackVerdict.CAMEO)]
    original = rig.ports.safety.scan

    def restrict_then_scan(frames: Any) -> Report:
        # the owner forbids a category the prompt only might touch: the gate says review
        rig.app.set_cameo_restrictions(rig.friend, ("violence",), "")
        return original(frames)

    rig.ports.safety.scan = restrict_then_scan  # type: ignore[method-assign]
    g = rig.run(generation_id)
    assert g.state == "held" and not g.watermarked  # "knife" only might be violence
    reason = rig.app.get(ReviewCase, g.case_ids[-1]).reason
    assert "CONSENT-STILL-VALID" in reason and "CAMEO-RESTRICTIONS" in reason


def test_a_scanner_raising_timeout_error_is_its_failure_not_a_step_timeout(rig: Rig):
    @dataclass
    class Slow:
        def scan(self, frames: Any) -> Report:
            raise TimeoutError("the model server did not answer")

    rig.ports.safety = Slow()
    g = rig.run(rig.request())
    assert g.state == "held"
    assert "did not answer" in g.findings["safety"]["error"]


def test_a_step_over_its_time_limit_holds_instead_of_waiting(rig: Rig):
    import time as clock

    @dataclass
    class Stuck:
        def scan(self, frames: Any) -> Report:
            clock.sleep(1.0)
            return Report(ALLOW)

    rig.ports.safety = Stuck()
    rig.pipeline.settings.timeouts["safety"] = 0.1
    g = rig.run(rig.request())
    assert g.state == "held"
    assert "longer than 0.1 s" in g.findings["safety"]["error"]


def test_a_job_whose_video_was_taken_down_meanwhile_ends_quietly(rig: Rig):
    generation_id = rig.request(cameos=(rig.friend,))
    original = rig.ports.generator.render

    def revoke_while_rendering(request: RenderRequest) -> RenderedClip:
        rig.app.disable_cameo(rig.friend)
        rig.app.enforce_consent(SYSTEM, (generation_id,), {"kind": "Cameo.Disabled"})
        return original(request)

    rig.ports.generator.render = revoke_while_rendering  # type: ignore[method-assign]
    before = event_count(rig.container)
    g = rig.run(generation_id)  # no exception: nothing for the queue to retry
    assert g.state == "taken_down"
    assert event_count(rig.container) == before + 2  # the cameo's event and the takedown


def test_the_cameo_owners_instructions_reach_the_generator(rig: Rig):
    rig.app.set_cameo_restrictions(rig.friend, (), "never show me eating meat")
    result = rig.app.request_generation(rig.requester, "a barbecue with grilled sausages",
                                        (UUID(rig.friend.id),), 4)
    assert result["outcome"] == "review"  # close to the instructions: a person reads them
    case_id = rig.app.get(Generation, UUID(result["generation_id"])).case_ids[-1]
    reviewer = Actor(rig.app.enrol_staff(rig.world.admin, "rita", "reviewer")["staff_id"],
                     Role.REVIEWER)
    rig.app.claim_case(reviewer, case_id)
    rig.app.decide_case(reviewer, case_id, "approve", "OK-1")
    rig.ports.faces.people = [(str(identity_id(UUID(rig.friend.id))), TrackVerdict.CAMEO)]
    rig.run(UUID(result["generation_id"]))
    [cameo] = rig.ports.generator.requests[0].cameos
    assert cameo.instructions == "never show me eating meat"


def test_a_remix_is_rendered_and_scanned_with_the_cameos_it_inherits(rig: Rig):
    source = rig.request(cameos=(rig.friend,))
    rig.ports.faces.people = [(str(identity_id(UUID(rig.friend.id))), TrackVerdict.CAMEO)]
    assert rig.run(source).state == "published"
    remixer = rig.world.member("cai")
    rig.world.mutuals(remixer, rig.friend)
    made = rig.app.request_generation(remixer, "the same, at night", (), 4, remix_of=source)
    assert made["outcome"] == "allow", made
    g = rig.run(UUID(made["generation_id"]))
    assert g.state == "published"
    assert [c.owner_id for c in rig.ports.generator.requests[-1].cameos] == [rig.friend.id]
    assert list(rig.ports.faces.seen_cameos[-1]) == [str(identity_id(UUID(rig.friend.id)))]
