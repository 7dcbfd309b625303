"""Identity verification around its commands: the upload (the raw video into the blob store,
then the submission) and the worker's job that decides it (checks, sealed template and
reference face, duplicate search, the outcome as an event, the raw video deleted)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

from domain.actors import Actor, Role
from domain.blobs import BlobNotFoundError, BlobStore
from domain.errors import DomainError, UnsupportedMediaTypeError, ValidationError
from domain.faces import FaceAnalyzerNotConfiguredError
from domain.identity import Identity, VerificationMediaClaim
from domain.ids import identity_id, media_claim_id
from domain.jobs import Job
from domain.services.consent import ConsentCommands
from domain.services.face_enrolment import FaceIndexFollower
from domain.verification import (
    CHECKS_NOT_CONFIGURED,
    MEDIA_MISSING,
    VERIFICATION_ERROR,
    TemplateSealer,
    VerificationChecker,
    VerificationOutcome,
    video_media_type,
)

log = logging.getLogger(__name__)

VERIFICATION_WORKER = Actor("verification-worker", Role.WORKER)
SEALED_MEDIA_TYPE = "application/octet-stream"
Command = Callable[[str], object]  # one of the application's commands, given its key


def submit_verification_video(app: ConsentCommands, blobs: BlobStore, actor: Actor,
                              nonce: str, media: bytes, key: str | None = None) -> str:
    """Stores the raw video, then records the submission (which claims its digest). The
    video stays only while a decision awaits it: a refused submission, or a retry replayed
    after the worker decided, leaves no copy behind."""
    if not media:
        raise ValidationError("send the video as the request body")
    media_type = video_media_type(media)
    if media_type is None:
        raise UnsupportedMediaTypeError("the body is not an MP4 or WebM video")
    digest = blobs.put(media, media_type)
    try:
        status: str = app.submit_verification(actor, nonce, digest, key=key)
    finally:
        if not _awaits_decision(app, digest):
            blobs.delete(digest)
    return status


def _awaits_decision(app: ConsentCommands, digest: str) -> bool:
    claim = app.find(VerificationMediaClaim, media_claim_id(digest))
    if claim is None:
        return False
    identity = app.find(Identity, claim.identity_id)
    return identity is not None and identity.status == "submitted" \
        and identity.media_digest == digest


class VerificationWorker:
    """The `VERIFY_IDENTITY` job (subject: the member id), synchronous and idempotent.

    Steps: nothing to do unless the identity awaits a decision; load the video (gone:
    fail with `media_missing`); bring the face index up to date and run the checks; passed:
    seal the face template, the reference face and the voice template (when a speaker
    model ran) under the identity's key and record
    `Verified` (with `DuplicateSuspected` and a review case in the same transaction when
    the face is within review distance of another identity: the identity is then *held*,
    not verified, because a verified face is what lets a member consent to cameos, and a
    face already enrolled under another account is a likely impersonation); failed: record
    the reason codes. Checks that could not run are recorded as `unchecked` either way.
    Finally, and again on any re-run, the raw video is deleted once the identity no longer
    awaits a decision."""

    def __init__(self, app: ConsentCommands, blobs: BlobStore, checker: VerificationChecker,
                 sealer: TemplateSealer, faces: FaceIndexFollower,
                 actor: Actor = VERIFICATION_WORKER) -> None:
        self.app = app
        self.blobs = blobs
        self.checker = checker
        self.sealer = sealer
        self.faces = faces
        self.actor = actor

    def handle(self, job: Job, attempt: int) -> None:
        member_id = UUID(job.subject_id)
        identity = self.app.find(Identity, identity_id(member_id))
        if identity is None:
            return
        if identity.status == "submitted":
            self._decide(member_id, identity)
        self._discard_media(member_id)

    __call__ = handle

    def give_up(self, job: Job, error: BaseException) -> None:
        """The checks kept raising: the verification fails (the member may try again)
        rather than waiting forever, and its video is deleted all the same."""
        member_id = UUID(job.subject_id)
        identity = self.app.find(Identity, identity_id(member_id))
        if identity is None:
            return
        if identity.status == "submitted":
            log.error("verification of member %s failed for good: %r", member_id, error)
            self._record(member_id, identity, lambda key: self.app.fail_verification(
                self.actor, member_id, (VERIFICATION_ERROR,), key=key))
        self._discard_media(member_id)

    def _decide(self, member_id: UUID, identity: Identity) -> None:
        challenge = identity.challenge
        assert challenge is not None, "a submission answers a challenge"
        try:
            media = self.blobs.get(identity.media_digest)
        except BlobNotFoundError:
            self._record(member_id, identity, lambda key: self.app.fail_verification(
                self.actor, member_id, (MEDIA_MISSING,), key=key))
            return
        self.faces.catch_up()
        try:
            outcome = self.checker.check(media, challenge.directions, challenge.digits,
                                         identity_id=str(identity.id))
        except FaceAnalyzerNotConfiguredError:
            self._record(member_id, identity, lambda key: self.app.fail_verification(
                self.actor, member_id, (CHECKS_NOT_CONFIGURED,), key=key))
            return
        if outcome.passed and outcome.template is not None:
            self._verify(member_id, identity, outcome)
        else:
            reasons = outcome.reasons or (VERIFICATION_ERROR,)
            self._record(member_id, identity, lambda key: self.app.fail_verification(
                self.actor, member_id, reasons, key=key, unchecked=outcome.unchecked))

    def _verify(self, member_id: UUID, identity: Identity,
                outcome: VerificationOutcome) -> None:
        template = outcome.template
        assert template is not None
        subject = str(identity.id)
        sealed = self.sealer.seal(subject, template)
        voice = outcome.voice
        sealed_voice = self.sealer.seal_voice(subject, voice) if voice is not None else b""
        reference = ""
        if outcome.reference_face is not None:
            reference = self.blobs.put(
                self.sealer.seal_reference_face(subject, outcome.reference_face),
                SEALED_MEDIA_TYPE)
        duplicates = [(UUID(match.subject_id), match.distance)
                      for match in outcome.duplicates]
        previous = identity.reference_face_digest
        recorded = False
        try:
            recorded = self._record(member_id, identity, lambda key: (
                self.app.complete_verification(
                    self.actor, member_id, sealed, template.model_id, outcome.quality,
                    outcome.liveness, key, reference_face_digest=reference,
                    unchecked=outcome.unchecked, duplicates=duplicates,
                    voice_ciphertext=sealed_voice,
                    voice_model_id=voice.model_id if voice is not None else "")))
        finally:
            if reference and not recorded:
                self.blobs.delete(reference)
        if recorded and previous and previous != reference:
            self.blobs.delete(previous)  # a re-verification's new face replaces the old one
        self.faces.catch_up()

    def _record(self, member_id: UUID, identity: Identity, command: Command) -> bool:
        """Runs the outcome's command under an idempotency key of this submission; False
        when it was refused because the identity changed meanwhile (another run decided
        it, the member erased it), which ends the job. An erasure that raced with the
        sealing gets the key that sealing re-created destroyed here."""
        try:
            command(f"verification:{identity.media_digest}")
        except DomainError:
            current = self.app.find(Identity, identity.id)
            if current is not None and current.erased:
                self.sealer.erase(str(identity.id))
            if current is None or current.status == "submitted":
                raise
            log.info("verification of member %s was decided elsewhere", member_id)
            return False
        return True

    def _discard_media(self, member_id: UUID) -> None:
        identity = self.app.find(Identity, identity_id(member_id))
        if identity is not None and identity.status != "submitted" and identity.media_digest:
            self.blobs.delete(identity.media_digest)
