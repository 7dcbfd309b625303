"""Identity verification: the checker's outcome, the ports the verification worker needs
(the video checker, the vault that seals biometric data under an identity's own key), the
reason codes recorded in events, and the cheap container check made at upload."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.errors import AlreadyExistsError
from domain.faces import FaceTemplate, IndexMatch

# Reason codes decided by the worker rather than by the video checks (those live with the
# checker: inference/liveness.py). Stable vocabulary recorded in Identity.VerificationFailed.
MEDIA_MISSING = "media_missing"  # the uploaded video is no longer in the blob store
CHECKS_NOT_CONFIGURED = "checks_not_configured"  # no face model could be loaded: fail closed
VERIFICATION_ERROR = "verification_error"  # the checks kept failing; the job gave up
DUPLICATE_CONFIRMED = "duplicate_confirmed"  # a reviewer found the face belongs to another

DUPLICATE_REASON = "duplicate_identity_suspected"  # the review case's reason


class MediaAlreadyUsedError(AlreadyExistsError):
    """A verification video must be new: the same bytes submitted again (by anyone) would
    let one recording verify several accounts, or replay an old one."""

    code = "verification-media-reused"


@dataclass(frozen=True)
class VerificationOutcome:
    """`template` is the mean embedding of the best frames (None when no usable face);
    `quality` and `liveness` are in [0, 1]; `unchecked` names checks that no configured
    component could run; `duplicates` are other enrolled identities whose face is within
    the model's review distance; `reference_face` is a PNG of the best frame's face (about
    twice its box), kept sealed for the generator's cameos; `voice` is the speaker
    template of the video's speech (None when no speaker model ran or too little speech:
    then "voice" is in `unchecked`); `stage_seconds`: time spent per check."""

    passed: bool
    reasons: tuple[str, ...]
    template: FaceTemplate | None
    quality: float
    liveness: float
    turns_seen: tuple[str, ...]
    speech_seconds: float
    unchecked: tuple[str, ...] = ()
    duplicates: tuple[IndexMatch, ...] = ()
    reference_face: bytes | None = None
    voice: FaceTemplate | None = None
    stage_seconds: tuple[tuple[str, float], ...] = ()


class VerificationChecker(Protocol):
    """Runs every check of a verification video. Raises `FaceAnalyzerNotConfiguredError`
    when it has no face model, rather than passing or failing the member on no evidence."""

    def check(self, media: bytes, directions: Sequence[str], digits: str,
              identity_id: str | None = None) -> VerificationOutcome:
        """`identity_id`: the identity being verified, left out of the duplicate search."""
        ...


class TemplateSealer(Protocol):
    """Seals an identity's biometric data (its face template, its reference face image, its
    voice template) under that identity's own data key, and shreds them all by destroying
    the key. Opening answers None once the key is gone."""

    def seal(self, identity_id: str, template: FaceTemplate) -> bytes: ...

    def open(self, identity_id: str, ciphertext: bytes) -> FaceTemplate | None: ...

    def seal_voice(self, identity_id: str, template: FaceTemplate) -> bytes: ...

    def open_voice(self, identity_id: str, ciphertext: bytes) -> FaceTemplate | None: ...

    def seal_reference_face(self, identity_id: str, image: bytes) -> bytes: ...

    def open_reference_face(self, identity_id: str, ciphertext: bytes) -> bytes | None: ...

    def erase(self, identity_id: str) -> None: ...


_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
_MATROSKA = b"\x1a\x45\xdf\xa3"  # EBML header: WebM and Matroska


def video_media_type(data: bytes) -> str | None:
    """`video/mp4` or `video/webm` when the bytes start like that container, else None.
    Only the signature is looked at; the media intake then decodes it in its sandbox."""
    if len(data) >= 8 and data[4:8] in _MP4_BOXES:
        return "video/mp4"
    if data[:4] == _MATROSKA:
        return "video/webm"
    return None
