"""A member's verified identity: the liveness challenge, its outcome and the face template.
The template enters events only encrypted under a per-identity key held outside the event
store; erasing destroys that key (crypto-shredding)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import ValidationError
from domain.ids import identity_id


@dataclass(frozen=True)
class Challenge:
    nonce: str
    digits: str
    directions: tuple[str, str]
    expires_at: datetime


class Identity(ConsentryAggregate):
    """Invariants: a submission answers the current, unexpired challenge exactly once; an
    outcome follows a submission; nothing happens after erasure."""

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
        self.failure_reasons: tuple[str, ...] = ()
        self.duplicate_of: UUID | None = None

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
        template_ciphertext: bytes
        model_id: str
        quality: float
        liveness: float

        def apply(self, identity: Identity) -> None:
            identity.status = "verified"
            identity.verified = True
            identity.challenge = None
            identity.template_ciphertext = self.template_ciphertext
            identity.model_id = self.model_id

    class VerificationFailed(ConsentryAggregate.Event):
        reasons: tuple[str, ...]

        def apply(self, identity: Identity) -> None:
            identity.status = "verified" if identity.verified else "failed"
            identity.challenge = None
            identity.failure_reasons = self.reasons

    class DuplicateSuspected(ConsentryAggregate.Event):
        other_identity_id: UUID
        score: float

        def apply(self, identity: Identity) -> None:
            identity.duplicate_of = self.other_identity_id

    class Erased(ConsentryAggregate.Event):
        def apply(self, identity: Identity) -> None:
            identity.status = "erased"
            identity.verified = False
            identity.challenge = None
            identity.template_ciphertext = b""

    @property
    def erased(self) -> bool:
        return self.status == "erased"

    def start_verification(self, actor: Actor, challenge: Challenge) -> None:
        self._require(not self.erased, "identity was erased")
        self._emit(self.VerificationStarted, actor, nonce=challenge.nonce,
                   digits=challenge.digits, directions=tuple(challenge.directions),
                   expires_at=challenge.expires_at)

    def submit(self, actor: Actor, nonce: str, media_digest: str, now: datetime) -> None:
        self._require(not self.erased, "identity was erased")
        challenge = self.challenge
        self._require(challenge is not None and self.status == "challenged",
                      "no open verification challenge")
        assert challenge is not None
        if nonce in self.used_nonces or nonce != challenge.nonce:
            raise ValidationError("the challenge nonce is unknown or already used")
        if now >= challenge.expires_at:
            raise ValidationError("the challenge has expired; start a new one")
        self._emit(self.VerificationSubmitted, actor, nonce=nonce, media_digest=media_digest)

    def verify(self, actor: Actor, template_ciphertext: bytes, model_id: str, quality: float,
               liveness: float) -> None:
        self._require(self.status == "submitted", "no submission awaits a decision")
        self._emit(self.Verified, actor, template_ciphertext=template_ciphertext,
                   model_id=model_id, quality=quality, liveness=liveness)

    def fail(self, actor: Actor, reasons: tuple[str, ...]) -> None:
        self._require(self.status in ("challenged", "submitted"), "no verification under way")
        self._emit(self.VerificationFailed, actor, reasons=tuple(reasons))

    def suspect_duplicate(self, actor: Actor, other_identity_id: UUID, score: float) -> None:
        self._require(not self.erased, "identity was erased")
        self._emit(self.DuplicateSuspected, actor, other_identity_id=other_identity_id,
                   score=score)

    def erase(self, actor: Actor) -> None:
        self._require(not self.erased, "identity was already erased")
        self._emit(self.Erased, actor)
