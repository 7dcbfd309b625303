"""A member's verified identity: the liveness challenge, its outcome and the face and voice
templates. They enter events only encrypted under a per-identity key held outside the event
store; erasing destroys that key (crypto-shredding). A verification video's digest is
claimed once (`VerificationMediaClaim`), so the same recording never verifies twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import ValidationError
from domain.ids import identity_id, media_claim_id
from domain.verification import DUPLICATE_CONFIRMED


@dataclass(frozen=True)
class Challenge:
    nonce: str
    digits: str
    directions: tuple[str, str]
    expires_at: datetime


class Identity(ConsentryAggregate):
    """Invariants: a submission answers the current, unexpired challenge exactly once; an
    outcome follows a submission; nothing happens after erasure. A verified face that
    matches another identity's is *held* (not verified) until a reviewer clears it: a
    held member cannot consent to cameos, nor start over with another face."""

    class Created(ConsentryAggregate.Created):
        member_id: UUID

    def __init__(self, member_id: UUID, **kwargs: Any) -> None:
        self.member_id = member_id
        self.status = "new"
        self.verified = False
        self.challenge: Challenge | None = None
        self.used_nonces: set[str] = set()
        self.media_digest = ""
        self.template_ciphertext = b""
        self.model_id = ""
        self.voice_ciphertext = b""
        self.voice_model_id = ""
        self.failure_reasons: tuple[str, ...] = ()
        self.unchecked: tuple[str, ...] = ()
        self.reference_face_digest = ""
        self.duplicate_of: UUID | None = None
        self.duplicate_case_id: UUID | None = None

    @classmethod
    def create(cls, actor: Actor, member_id: UUID) -> Identity:
        return cls._create(cls.Created, id=identity_id(member_id), actor_id=actor.id,
                           actor_role=str(actor.role), member_id=member_id)

    class VerificationStarted(ConsentryAggregate.Event):
        nonce: str
        digits: str
        directions: tuple[str, ...]
        expires_at: datetime

        def apply(self, identity: Identity) -> None:
            identity.status = "challenged"
            identity.challenge = Challenge(self.nonce, self.digits,
                                           (self.directions[0], self.directions[1]),
                                           self.expires_at)

    class VerificationSubmitted(ConsentryAggregate.Event):
        nonce: str
        media_digest: str

        def apply(self, identity: Identity) -> None:
            identity.status = "submitted"
            identity.used_nonces.add(self.nonce)
            identity.media_digest = self.media_digest

    class Verified(ConsentryAggregate.Event):
        """`reference_face_digest`: the blob of the best frame's face, sealed under the
        identity's key; `voice_ciphertext`: the voice template sealed under the same key
        (empty when no speaker model ran: then "voice" is in `unchecked`)."""

        class_version = 2
        template_ciphertext: bytes
        model_id: str
        quality: float
        liveness: float
        reference_face_digest: str
        unchecked: tuple[str, ...]
        voice_ciphertext: bytes
        voice_model_id: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["voice_ciphertext"] = ""  # base64 of no bytes: verified before voice
            state["voice_model_id"] = ""

        def apply(self, identity: Identity) -> None:
            identity.status = "verified"
            identity.verified = True
            identity.challenge = None
            identity.template_ciphertext = self.template_ciphertext
            identity.model_id = self.model_id
            identity.voice_ciphertext = self.voice_ciphertext
            identity.voice_model_id = self.voice_model_id
            identity.reference_face_digest = self.reference_face_digest
            identity.unchecked = self.unchecked
            identity.failure_reasons = ()

    class VerificationFailed(ConsentryAggregate.Event):
        reasons: tuple[str, ...]
        unchecked: tuple[str, ...]

        def apply(self, identity: Identity) -> None:
            identity.status = "verified" if identity.verified else "failed"
            identity.challenge = None
            identity.failure_reasons = self.reasons
            identity.unchecked = self.unchecked

    class DuplicateSuspected(ConsentryAggregate.Event):
        """`score`: the face distance to the other identity (lower is more alike)."""

        other_identity_id: UUID
        score: float
        case_id: UUID

        def apply(self, identity: Identity) -> None:
            identity.duplicate_of = self.other_identity_id
            identity.duplicate_case_id = self.case_id
            if identity.status == "verified":
                identity.status = "held"
                identity.verified = False

    class DuplicateCleared(ConsentryAggregate.Event):
        case_id: UUID

        def apply(self, identity: Identity) -> None:
            identity.status = "verified"
            identity.verified = True
            identity.failure_reasons = ()

    class DuplicateConfirmed(ConsentryAggregate.Event):
        case_id: UUID

        def apply(self, identity: Identity) -> None:
            identity.status = "failed"
            identity.verified = False
            identity.failure_reasons = (DUPLICATE_CONFIRMED,)

    class Erased(ConsentryAggregate.Event):
        """Names the blobs to delete with the key: the sealed reference face and the last
        verification video (gone already once it was decided), so that whoever applies
        the erasure, now or after a crash, needs nothing but this event."""

        reference_face_digest: str
        media_digest: str

        def apply(self, identity: Identity) -> None:
            identity.status = "erased"
            identity.verified = False
            identity.challenge = None
            identity.template_ciphertext = b""
            identity.voice_ciphertext = b""
            identity.reference_face_digest = ""

    @property
    def erased(self) -> bool:
        return self.status == "erased"

    def start_verification(self, actor: Actor, challenge: Challenge) -> None:
        self._require(not self.erased, "identity was erased")
        self._require(self.status != "held", "the last verification is under review")
        self._require(self.status != "submitted", "the last video awaits its checks")
        self._emit(self.VerificationStarted, actor, nonce=challenge.nonce,
                   digits=challenge.digits, directions=tuple(challenge.directions),
                   expires_at=challenge.expires_at)

    def check_submission(self, nonce: str, now: datetime) -> None:
        """Raises what `submit` would refuse: checked before an upload is even stored."""
        self._require(not self.erased, "identity was erased")
        challenge = self.challenge
        self._require(challenge is not None and self.status == "challenged",
                      "no open verification challenge")
        assert challenge is not None
        if nonce in self.used_nonces or nonce != challenge.nonce:
            raise ValidationError("the challenge nonce is unknown or already used")
        if now >= challenge.expires_at:
            raise ValidationError("the challenge has expired; start a new one")

    def submit(self, actor: Actor, nonce: str, media_digest: str, now: datetime) -> None:
        self.check_submission(nonce, now)
        self._emit(self.VerificationSubmitted, actor, nonce=nonce, media_digest=media_digest)

    def verify(self, actor: Actor, template_ciphertext: bytes, model_id: str, quality: float,
               liveness: float, reference_face_digest: str = "",
               unchecked: tuple[str, ...] = (), voice_ciphertext: bytes = b"",
               voice_model_id: str = "") -> None:
        self._require(self.status == "submitted", "no submission awaits a decision")
        self._emit(self.Verified, actor, template_ciphertext=template_ciphertext,
                   model_id=model_id, quality=quality, liveness=liveness,
                   reference_face_digest=reference_face_digest, unchecked=tuple(unchecked),
                   voice_ciphertext=voice_ciphertext, voice_model_id=voice_model_id)

    def fail(self, actor: Actor, reasons: tuple[str, ...],
             unchecked: tuple[str, ...] = ()) -> None:
        self._require(self.status in ("challenged", "submitted"), "no verification under way")
        self._emit(self.VerificationFailed, actor, reasons=tuple(reasons),
                   unchecked=tuple(unchecked))

    def suspect_duplicate(self, actor: Actor, other_identity_id: UUID, score: float,
                          case_id: UUID) -> None:
        self._require(not self.erased, "identity was erased")
        self._emit(self.DuplicateSuspected, actor, other_identity_id=other_identity_id,
                   score=score, case_id=case_id)

    def resolve_duplicate(self, actor: Actor, case_id: UUID, approve: bool) -> bool:
        """A reviewer's decision on the duplicate case `case_id`: approving verifies a held
        identity (or one an earlier decision rejected), anything else leaves or makes it
        unverified. False when there is nothing to change (erased, another case, or
        already in the decided state), so a repeated decision adds no event."""
        if self.erased or self.duplicate_case_id != case_id:
            return False
        rejected = self.status == "failed" and self.failure_reasons == (DUPLICATE_CONFIRMED,)
        if approve and (self.status == "held" or rejected):
            self._emit(self.DuplicateCleared, actor, case_id=case_id)
            return True
        if not approve and self.status in ("held", "verified"):
            self._emit(self.DuplicateConfirmed, actor, case_id=case_id)
            return True
        return False

    def erase(self, actor: Actor) -> None:
        """Erasure works in every state; erasing what is erased changes nothing."""
        if self.erased:
            return
        self._emit(self.Erased, actor, reference_face_digest=self.reference_face_digest,
                   media_digest=self.media_digest)


class VerificationMediaClaim(ConsentryAggregate):
    """Reserves a verification video's SHA-256 digest for the first submission that used
    it; its id derives from the digest, so a second claim conflicts in the event store."""

    class Claimed(ConsentryAggregate.Created):
        media_digest: str
        identity_id: UUID

    def __init__(self, media_digest: str, identity_id: UUID, **kwargs: Any) -> None:
        self.media_digest = media_digest
        self.identity_id = identity_id

    @classmethod
    def claim(cls, actor: Actor, media_digest: str, identity_id: UUID
              ) -> VerificationMediaClaim:
        return cls._create(cls.Claimed, id=media_claim_id(media_digest), actor_id=actor.id,
                           actor_role=str(actor.role), media_digest=media_digest,
                           identity_id=identity_id)
