"""The verification job, the upload before it and the face index that follows the log, on
the in-memory store with the real vault and blob store and a scripted video checker."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from adapters.template_crypto import TemplateIntegrityError
from domain.actors import Actor, Role
from domain.errors import InvalidTransitionError, UnsupportedMediaTypeError, ValidationError
from domain.faces import (
    FaceAnalyzerNotConfiguredError,
    FaceTemplate,
    IndexMatch,
    Metric,
)
from domain.identity import Identity
from domain.ids import identity_id
from domain.jobs import VERIFY_IDENTITY, Job
from domain.review_case import ReviewCase
from domain.services.face_enrolment import EnrolledFaces, FaceIndexFollower, erase_identity
from domain.services.verification import VerificationWorker, submit_verification_video
from domain.services.voice_enrolment import VoiceIndexFollower
from domain.verification import (
    CHECKS_NOT_CONFIGURED,
    DUPLICATE_CONFIRMED,
    DUPLICATE_REASON,
    MEDIA_MISSING,
    VERIFICATION_ERROR,
    MediaAlreadyUsedError,
    VerificationOutcome,
)
from inference.face_index import TieredFaceIndex
from tests.fakes import FakeClock, World

pytestmark = pytest.mark.integration
MODEL = "scripted"
REVIEWER = Actor("rev-1", Role.REVIEWER)
PNG = b"\x89PNG\r\n\x1a\nscripted reference face"


def face(person: int) -> FaceTemplate:
    vector = [0.0] * 8
    vector[person] = 1.0
    return FaceTemplate(MODEL, Metric.L2, tuple(vector))


def voice(person: int) -> FaceTemplate:
    vector = [0.0] * 4
    vector[person % 4] = 1.0
    return FaceTemplate("scripted-voice", Metric.COSINE, tuple(vector))


def passed(person: int = 1, *duplicates: IndexMatch) -> VerificationOutcome:
    return VerificationOutcome(True, (), face(person), 0.8, 1.0, ("left", "up"), 2.0,
                               duplicates=duplicates, reference_face=PNG, voice=voice(person))


def failed(*reasons: str) -> VerificationOutcome:
    return VerificationOutcome(False, reasons, None, 0.0, 0.0, (), 0.0, unchecked=("voice",))


@dataclass
class FakeVerificationChecker:
    """Answers the outcomes it is given in turn, searching the index it was given the way
    the real checker does (so duplicates come from what the follower indexed)."""

    outcomes: list[VerificationOutcome] = field(default_factory=list)
    index: FaceIndexFollower | None = None
    calls: list[tuple[bytes, tuple[str, ...], str, str | None]] = field(default_factory=list)
    during: Callable[[], object] | None = None
    error: Exception | None = None

    def check(self, media: bytes, directions: Sequence[str], digits: str,
              identity_id: str | None = None) -> VerificationOutcome:
        self.calls.append((media, tuple(directions), digits, identity_id))
        if self.during is not None:
            self.during()
        if self.error is not None:
            raise self.error
        outcome = self.outcomes.pop(0)
        if outcome.template is not None and self.index is not None and not outcome.duplicates:
            found = tuple(m for m in self.index.search(outcome.template, 3, 0.5)
                          if m.subject_id != identity_id)
            outcome = VerificationOutcome(**{**vars(outcome), "duplicates": found})
        return outcome


@dataclass
class Rig:
    container: Container
    world: World
    checker: FakeVerificationChecker
    faces: FaceIndexFollower
    worker: VerificationWorker

    @property
    def app(self) -> Any:
        return self.container.app

    def submit(self, member: Actor, media: bytes | None = None) -> str:
        """Starts a challenge and uploads a fresh video; returns its digest."""
        challenge = self.app.start_verification(member)
        media = media if media is not None else video()
        submit_verification_video(self.app, self.container.blobs, member,
                                  challenge["nonce"], media)
        return self.identity(member).media_digest

    def run(self, member: Actor) -> None:
        self.worker.handle(Job(VERIFY_IDENTITY, member.id), 1)

    def identity(self, member: Actor) -> Identity:
        identity: Identity = self.app.get(Identity, identity_id(UUID(member.id)))
        return identity

    def events(self, member: Actor) -> list[Any]:
        return list(self.app.events.get(identity_id(UUID(member.id))))


def video(extra: bytes | None = None) -> bytes:
    return b"\0\0\0\x18ftypisom" + (extra if extra is not None else os.urandom(64))


@pytest.fixture
def rig() -> Iterator[Rig]:
    container = bootstrap(Settings(store="memory"), clock=FakeClock())
    checker = FakeVerificationChecker()
    faces = FaceIndexFollower(container.app, TieredFaceIndex(MODEL, Metric.L2),
                              container.vault, container.blobs)
    checker.index = faces
    worker = VerificationWorker(container.app, container.blobs, checker, container.vault,
                                faces)
    yield Rig(container, World(container.app), checker, faces, worker)
    container.close()


# -- the job -------------------------------------------------------------------------------
def test_a_passed_check_records_a_sealed_template_and_deletes_the_raw_video(rig: Rig):
    member = rig.world.member(verified=False)
    digest = rig.submit(member)
    rig.checker.outcomes = [passed()]
    rig.run(member)

    identity = rig.identity(member)
    assert identity.status == "verified" and identity.verified
    challenge_call = rig.checker.calls[0]
    assert challenge_call[3] == str(identity.id), "its own identity is left out of the search"
    verified = rig.events(member)[-1]
    assert isinstance(verified, Identity.Verified)
    assert verified.model_id == MODEL and verified.unchecked == ()
    assert face(1).to_bytes() not in verified.template_ciphertext
    opened = rig.container.vault.open(str(identity.id), verified.template_ciphertext)
    assert opened == face(1)
    assert verified.voice_model_id == "scripted-voice"
    assert voice(1).to_bytes() not in verified.voice_ciphertext
    assert rig.container.vault.open_voice(str(identity.id), verified.voice_ciphertext) == \
        voice(1)
    with pytest.raises(TemplateIntegrityError):  # a sealed voice never opens as a face
        rig.container.vault.open(str(identity.id), verified.voice_ciphertext)
    sealed_face = rig.container.blobs.get(verified.reference_face_digest)
    assert PNG not in sealed_face
    assert rig.container.vault.open_reference_face(str(identity.id), sealed_face) == PNG
    assert not rig.container.blobs.exists(digest)
    assert str(identity.id) in rig.faces, "the index holds the new face"
    cameo_faces = EnrolledFaces(rig.app, rig.container.vault, rig.container.blobs)
    assert cameo_faces.reference(UUID(member.id)) == PNG
    assert cameo_faces.template(UUID(member.id)) == face(1)


def test_a_failed_check_records_its_reasons_and_deletes_the_raw_video(rig: Rig):
    member = rig.world.member(verified=False)
    digest = rig.submit(member)
    rig.checker.outcomes = [failed("head_turn_missing", "no_speech")]
    rig.run(member)

    identity = rig.identity(member)
    assert identity.status == "failed" and not identity.verified
    event = rig.events(member)[-1]
    assert isinstance(event, Identity.VerificationFailed)
    assert event.reasons == ("head_turn_missing", "no_speech")
    assert event.unchecked == ("voice",)
    assert not rig.container.blobs.exists(digest)
    assert rig.container.key_store.get(str(identity.id)) is None, "nothing was sealed"


def test_a_face_enrolled_under_another_identity_holds_the_new_one_for_review(rig: Rig):
    first, second = rig.world.member(verified=False), rig.world.member(verified=False)
    rig.submit(first)
    rig.checker.outcomes = [passed(1)]
    rig.run(first)
    digest = rig.submit(second)
    rig.checker.outcomes = [passed(1)]
    rig.run(second)

    held = rig.identity(second)
    assert held.status == "held" and not held.verified, "a held member cannot consent"
    suspected = [e for e in rig.events(second) if isinstance(e, Identity.DuplicateSuspected)]
    assert [(e.other_identity_id, e.score) for e in suspected] == [
        (identity_id(UUID(first.id)), 0.0)]
    case = rig.app.get(ReviewCase, suspected[0].case_id)
    assert (case.subject_kind, case.subject_id, case.reason, case.priority) == (
        "identity", held.id, DUPLICATE_REASON, 1)
    assert case.evidence["matches"] == [{"identity_id": str(identity_id(UUID(first.id))),
                                         "distance": 0.0, "member_id": first.id}]
    assert case.evidence["reference_face_digest"] == held.reference_face_digest
    assert not rig.container.blobs.exists(digest)
    assert rig.identity(first).status == "verified", "the first one is untouched"
    with pytest.raises(InvalidTransitionError):
        rig.app.start_verification(second)  # no fresh start with another face meanwhile


def test_a_reviewer_clears_or_confirms_a_suspected_duplicate(rig: Rig):
    first, second = rig.world.member(verified=False), rig.world.member(verified=False)
    for member in (first, second):
        rig.submit(member)
        rig.checker.outcomes = [passed(1)]
        rig.run(member)
    case_id = rig.identity(second).duplicate_case_id
    assert case_id is not None
    rig.app.claim_case(REVIEWER, case_id)
    rig.app.decide_case(REVIEWER, case_id, "remove", "IDENTITY-DUPLICATE")
    rejected = rig.identity(second)
    assert (rejected.status, rejected.failure_reasons) == ("failed", (DUPLICATE_CONFIRMED,))
    rig.app.appeal_case(second, case_id, "that is my twin sister")
    other = Actor("rev-2", Role.REVIEWER)
    rig.app.claim_case(other, case_id)
    rig.app.decide_appeal(other, case_id, "approve", "IDENTITY-OK")
    assert rig.identity(second).status == "verified" and rig.identity(second).verified


def test_a_missing_video_fails_the_verification_with_its_reason(rig: Rig):
    member = rig.world.member(verified=False)
    digest = rig.submit(member)
    rig.container.blobs.delete(digest)
    rig.run(member)
    assert rig.identity(member).failure_reasons == (MEDIA_MISSING,)
    assert rig.checker.calls == []


def test_a_face_model_that_is_not_configured_fails_closed(rig: Rig):
    member = rig.world.member(verified=False)
    digest = rig.submit(member)
    rig.checker.error = FaceAnalyzerNotConfiguredError("no weights")
    rig.run(member)
    assert rig.identity(member).failure_reasons == (CHECKS_NOT_CONFIGURED,)
    assert not rig.container.blobs.exists(digest)


def test_a_job_that_keeps_failing_gives_up_with_a_reason_and_deletes_the_video(rig: Rig):
    member = rig.world.member(verified=False)
    digest = rig.submit(member)
    rig.checker.error = RuntimeError("decoder crashed")
    job = Job(VERIFY_IDENTITY, member.id)
    with pytest.raises(RuntimeError):
        rig.worker.handle(job, 1)
    assert rig.identity(member).status == "submitted" and rig.container.blobs.exists(digest)
    rig.worker.give_up(job, RuntimeError("decoder crashed"))
    assert rig.identity(member).failure_reasons == (VERIFICATION_ERROR,)
    assert not rig.container.blobs.exists(digest)


def test_running_the_job_again_adds_no_event_and_still_deletes_the_video(rig: Rig):
    member = rig.world.member(verified=False)
    media = video()
    digest = rig.submit(member, media)
    rig.checker.outcomes = [passed()]
    rig.run(member)
    count = len(rig.events(member))
    rig.container.blobs.put(media, "video/mp4")  # as if the process died before deleting
    rig.run(member)
    assert len(rig.events(member)) == count and len(rig.checker.calls) == 1
    assert not rig.container.blobs.exists(digest)


def test_an_erasure_during_the_checks_leaves_no_key_and_no_blob_behind(rig: Rig):
    member = rig.world.member(verified=False)
    digest = rig.submit(member)
    subject = str(identity_id(UUID(member.id)))
    rig.checker.outcomes = [passed()]
    rig.checker.during = lambda: erase_identity(rig.app, rig.faces, member, UUID(member.id))
    blobs_before = set(rig.container.blobs.root.rglob("*"))  # type: ignore[attr-defined]
    rig.run(member)
    assert rig.identity(member).erased
    assert rig.container.key_store.get(subject) is None
    assert not rig.container.blobs.exists(digest)
    blobs_after = set(rig.container.blobs.root.rglob("*"))  # type: ignore[attr-defined]
    assert {p for p in blobs_after - blobs_before if p.is_file()} == set()


# -- the upload ----------------------------------------------------------------------------
def test_a_video_seen_before_is_refused_for_anyone_and_nothing_is_recorded(rig: Rig):
    first, second = rig.world.member(verified=False), rig.world.member(verified=False)
    media = video()
    digest = rig.submit(first, media)
    challenge = rig.app.start_verification(second)
    before = len(rig.events(second))
    with pytest.raises(MediaAlreadyUsedError) as refused:
        submit_verification_video(rig.app, rig.container.blobs, second, challenge["nonce"],
                                  media)
    assert refused.value.code == "verification-media-reused"
    assert len(rig.events(second)) == before, "nothing recorded"
    assert rig.identity(second).status == "challenged"
    assert rig.container.blobs.exists(digest), "the first submission still needs it"
    rig.checker.outcomes = [failed("no_face")]
    rig.run(first)
    with pytest.raises(MediaAlreadyUsedError):
        rig.submit(first, media)  # the same member, after the decision
    assert not rig.container.blobs.exists(digest), "a refused upload leaves no copy"


@pytest.mark.parametrize("body,error", [(b"", ValidationError),
                                        (b"GIF89a not a video at all", UnsupportedMediaTypeError)])
def test_an_empty_or_non_video_body_is_refused_before_anything_is_stored(
        rig: Rig, body: bytes, error: type[Exception]):
    member = rig.world.member(verified=False)
    challenge = rig.app.start_verification(member)
    with pytest.raises(error):
        submit_verification_video(rig.app, rig.container.blobs, member, challenge["nonce"],
                                  body)
    assert rig.identity(member).status == "challenged"
    assert [p for p in rig.container.blobs.root.rglob("*")  # type: ignore[attr-defined]
            if p.is_file()] == []


def test_a_refused_submission_keeps_no_copy_of_the_video(rig: Rig):
    member = rig.world.member(verified=False)
    rig.app.start_verification(member)
    with pytest.raises(ValidationError):
        submit_verification_video(rig.app, rig.container.blobs, member, "wrong-nonce",
                                  video())
    assert [p for p in rig.container.blobs.root.rglob("*")  # type: ignore[attr-defined]
            if p.is_file()] == []


# -- the follower --------------------------------------------------------------------------
def test_a_new_follower_rebuilds_the_index_from_the_log_and_honours_erasure(rig: Rig):
    kept, gone = rig.world.member(verified=False), rig.world.member(verified=False)
    for member, person in ((kept, 1), (gone, 2)):
        rig.submit(member)
        rig.checker.outcomes = [passed(person)]
        rig.run(member)
    kept_id, gone_id = (str(identity_id(UUID(m.id))) for m in (kept, gone))
    reference = rig.identity(gone).reference_face_digest
    assert rig.faces.catch_up() == 0, "nothing new: nothing read"

    rig.app.erase_identity(gone, UUID(gone.id))  # the process dies before shredding
    assert rig.container.key_store.get(gone_id) is not None
    assert gone_id in rig.faces

    started = FaceIndexFollower(rig.app, TieredFaceIndex(MODEL, Metric.L2), rig.container.vault,
                                rig.container.blobs)
    assert started.catch_up() == 3  # two verifications, one erasure
    assert kept_id in started and gone_id not in started
    assert rig.container.key_store.get(gone_id) is None, "the start completed the erasure"
    assert not rig.container.blobs.exists(reference)
    assert [m.subject_id for m in started.search(face(2), 5, 0.5)] == []
    rig.faces.catch_up()
    assert gone_id not in rig.faces, "a running follower drops her at its next catch-up"


def test_the_follower_reads_only_identity_events_and_skips_other_models(rig: Rig):
    member = rig.world.member()  # verified by the World with a "test-model" template
    assert rig.faces.catch_up() == 1
    assert len(rig.faces) == 0 and str(identity_id(UUID(member.id))) not in rig.faces
    topics = {get_topic(Identity.Verified), get_topic(Identity.Erased)}
    notes = rig.app.recorder.select_notifications(1, 100, topics=list(topics))
    assert {n.topic for n in notes} <= topics


def voices(rig: Rig) -> VoiceIndexFollower:
    return VoiceIndexFollower(rig.app, TieredFaceIndex("scripted-voice", Metric.COSINE),
                              rig.container.vault)


def test_an_erasure_shreds_the_voice_with_the_face_and_the_voice_index_drops_it(rig: Rig):
    kept, gone = rig.world.member(verified=False), rig.world.member(verified=False)
    running = voices(rig)
    running.catch_up()
    for member, person in ((kept, 1), (gone, 2)):
        rig.submit(member)
        rig.checker.outcomes = [passed(person)]
        rig.run(member)
    sealed = [e for e in rig.events(gone) if isinstance(e, Identity.Verified)][-1]
    kept_id, subject = str(identity_id(UUID(kept.id))), str(identity_id(UUID(gone.id)))
    running.catch_up()
    assert kept_id in running and subject in running
    assert running.index.search(voice(2), 1)[0].subject_id == subject

    erase_identity(rig.app, rig.faces, gone, UUID(gone.id))

    assert rig.container.vault.open_voice(subject, sealed.voice_ciphertext) is None
    running.catch_up()
    assert subject not in running and kept_id in running, "dropped at the next catch-up"
    started = voices(rig)  # a process starting now builds it from the whole log
    started.catch_up()
    assert len(started) == 1 and kept_id in started


def test_the_voice_index_keeps_only_the_latest_verification_of_its_own_model(rig: Rig):
    member = rig.world.member(verified=False)
    subject = str(identity_id(UUID(member.id)))
    running = voices(rig)
    rig.submit(member)
    rig.checker.outcomes = [passed(1)]
    rig.run(member)
    running.catch_up()
    assert subject in running
    # re-verified with no voice heard (no speaker model, too little speech): the old
    # voice no longer stands for this person
    rig.submit(member)
    rig.checker.outcomes = [VerificationOutcome(**{**vars(passed(1)), "voice": None})]
    rig.run(member)
    running.catch_up()
    assert subject not in running
    other_model = VoiceIndexFollower(rig.app, TieredFaceIndex("another-voice", Metric.COSINE),
                                     rig.container.vault)
    rig.submit(member)
    rig.checker.outcomes = [passed(1)]
    rig.run(member)
    other_model.catch_up()
    running.catch_up()
    assert len(other_model) == 0 and subject in running
