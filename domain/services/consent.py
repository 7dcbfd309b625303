"""A member's own consent: the cameo settings and identity verification. Only the member
changes their cameo; verification outcomes come from the worker."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from domain.blobs import check_digest
from domain.cameo import Cameo
from domain.identity import Challenge, Identity, VerificationMediaClaim
from domain.ids import cameo_id, identity_id, media_claim_id
from domain.member import Member
from domain.review_case import ReviewCase
from domain.services.access import require_role
from domain.services.members import MemberCommands
from domain.verification import DUPLICATE_REASON, MediaAlreadyUsedError

CHALLENGE_TTL = timedelta(minutes=10)
DIRECTIONS = ("left", "right", "up", "down")


class ConsentCommands(MemberCommands):
    def _my_cameo(self, actor: Actor) -> Cameo:
        require_role(actor, Role.MEMBER)
        member_id = UUID(actor.id)
        cameo = self.find(Cameo, cameo_id(member_id))
        return cameo if cameo is not None else Cameo.create(actor, member_id)

    def _cameo_command(self, name: str, actor: Actor, key: str | None,
                       args: dict[str, Any], change: Any) -> str:
        def body() -> tuple[str, list[Any]]:
            cameo = self._my_cameo(actor)
            change(cameo)
            return cameo.permission if cameo.enabled else "disabled", [cameo]

        return self.run(name, actor, key, args, body)

    def enable_cameo(self, actor: Actor, permission: str = "only_me",
                     key: str | None = None) -> str:
        return self._cameo_command("enable_cameo", actor, key, {"p": permission},
                                   lambda c: c.enable(actor, permission))

    def change_cameo_permission(self, actor: Actor, permission: str,
                                key: str | None = None) -> str:
        return self._cameo_command("change_cameo_permission", actor, key, {"p": permission},
                                   lambda c: c.change_permission(actor, permission))

    def approve_person(self, actor: Actor, member_id: UUID, key: str | None = None) -> str:
        self.get(Member, member_id, "member")
        return self._cameo_command("approve_person", actor, key, {"m": member_id},
                                   lambda c: c.approve(actor, member_id))

    def withdraw_approval(self, actor: Actor, member_id: UUID, key: str | None = None) -> str:
        return self._cameo_command("withdraw_approval", actor, key, {"m": member_id},
                                   lambda c: c.withdraw_approval(actor, member_id))

    def block_person(self, actor: Actor, member_id: UUID, key: str | None = None) -> str:
        self.get(Member, member_id, "member")
        return self._cameo_command("block_person", actor, key, {"m": member_id},
                                   lambda c: c.block(actor, member_id))

    def unblock_person(self, actor: Actor, member_id: UUID, key: str | None = None) -> str:
        return self._cameo_command("unblock_person", actor, key, {"m": member_id},
                                   lambda c: c.unblock(actor, member_id))

    def set_cameo_restrictions(self, actor: Actor, forbidden_categories: tuple[str, ...],
                               instructions: str = "", key: str | None = None) -> str:
        return self._cameo_command(
            "set_cameo_restrictions", actor, key,
            {"c": sorted(forbidden_categories), "i": instructions},
            lambda c: c.set_restrictions(actor, tuple(forbidden_categories), instructions))

    def disable_cameo(self, actor: Actor, key: str | None = None) -> str:
        return self._cameo_command("disable_cameo", actor, key, {},
                                   lambda c: c.disable(actor))

    # -- identity ----------------------------------------------------------------------
    def start_verification(self, actor: Actor, key: str | None = None) -> dict[str, Any]:
        require_role(actor, Role.MEMBER)
        member_id = UUID(actor.id)

        def body() -> tuple[dict[str, Any], list[Any]]:
            identity = self.find(Identity, identity_id(member_id)) \
                or Identity.create(actor, member_id)
            first, second = secrets.SystemRandom().sample(DIRECTIONS, 2)
            challenge = Challenge(
                nonce=secrets.token_urlsafe(16),
                digits="".join(secrets.choice("0123456789") for _ in range(3)),
                directions=(first, second),
                expires_at=self.clock() + CHALLENGE_TTL)
            identity.start_verification(actor, challenge)
            return {"nonce": challenge.nonce, "digits": challenge.digits,
                    "directions": list(challenge.directions),
                    "expires_at": challenge.expires_at.isoformat()}, [identity]

        return self.run("start_verification", actor, key, {}, body)

    def check_verification_challenge(self, actor: Actor, nonce: str) -> None:
        """Refuses an upload for a challenge that cannot take it, before it is stored."""
        require_role(actor, Role.MEMBER)
        identity = self.get(Identity, identity_id(UUID(actor.id)), "verification")
        identity.check_submission(nonce, self.clock())

    def submit_verification(self, actor: Actor, nonce: str, media_digest: str,
                            key: str | None = None) -> str:
        """Records the upload of `media_digest` (the video is in the blob store already)
        and claims the digest: a video seen before, from anyone, is refused."""
        require_role(actor, Role.MEMBER)
        check_digest(media_digest)

        def body() -> tuple[str, list[Any]]:
            identity = self.get(Identity, identity_id(UUID(actor.id)), "verification")
            identity.submit(actor, nonce, media_digest, self.clock())
            if self.find(VerificationMediaClaim, media_claim_id(media_digest)) is not None:
                raise MediaAlreadyUsedError("this video was submitted before; record a new "
                                            "one for this challenge")
            claim = VerificationMediaClaim.claim(actor, media_digest, identity.id)
            return identity.status, [identity, claim]

        return self.run("submit_verification", actor, key,
                        {"n": nonce, "d": media_digest}, body)

    def complete_verification(self, actor: Actor, member_id: UUID, template_ciphertext: bytes,
                              model_id: str, quality: float, liveness: float,
                              key: str | None = None, *, reference_face_digest: str = "",
                              unchecked: Sequence[str] = (),
                              duplicates: Sequence[tuple[UUID, float]] = (),
                              voice_ciphertext: bytes = b"", voice_model_id: str = "") -> str:
        """Records a passed verification (with the sealed voice template when a speaker
        model ran). `duplicates` (other identity ids with their face distance) hold it in
        the same transaction and open one review case with them as evidence: returns
        "held" then, else "verified"."""
        require_role(actor, Role.WORKER, Role.ADMIN)

        def body() -> tuple[str, list[Any]]:
            identity = self.get(Identity, identity_id(member_id), "verification")
            identity.verify(actor, template_ciphertext, model_id, quality, liveness,
                            reference_face_digest, tuple(unchecked), voice_ciphertext,
                            voice_model_id)
            changed: list[Any] = [identity]
            if duplicates:
                case = self._open_duplicate_case(actor, identity, duplicates, quality,
                                                 liveness)
                for other, distance in duplicates:
                    identity.suspect_duplicate(actor, other, distance, case.id)
                changed.append(case)
            return identity.status, changed

        return self.run("complete_verification", actor, key,
                        {"m": member_id, "model": model_id, "ref": reference_face_digest,
                         "dup": sorted(str(other) for other, _ in duplicates),
                         **({"voice": voice_model_id} if voice_model_id else {})}, body)

    def _open_duplicate_case(self, actor: Actor, identity: Identity,
                             duplicates: Sequence[tuple[UUID, float]], quality: float,
                             liveness: float) -> ReviewCase:
        matches = []
        for other, distance in sorted(duplicates, key=lambda d: d[1]):
            found = self.find(Identity, other)
            matches.append({"identity_id": str(other), "distance": round(float(distance), 4),
                            "member_id": str(found.member_id) if found else None})
        evidence = {"matches": matches, "model_id": identity.model_id,
                    "quality": quality, "liveness": liveness,
                    "reference_face_digest": identity.reference_face_digest}
        return self.open_case(actor, "identity", identity.id, identity.member_id,
                              DUPLICATE_REASON, evidence, "high", ("identity",))

    def fail_verification(self, actor: Actor, member_id: UUID, reasons: tuple[str, ...],
                          key: str | None = None, *, unchecked: Sequence[str] = ()) -> str:
        require_role(actor, Role.WORKER, Role.ADMIN)

        def body() -> tuple[str, list[Any]]:
            identity = self.get(Identity, identity_id(member_id), "verification")
            identity.fail(actor, tuple(reasons), tuple(unchecked))
            return identity.status, [identity]

        return self.run("fail_verification", actor, key,
                        {"m": member_id, "r": list(reasons), "u": list(unchecked)}, body)

    def erase_identity(self, actor: Actor, member_id: UUID, key: str | None = None) -> str:
        if not (actor.role == Role.ADMIN or actor.id == str(member_id)):
            require_role(actor, Role.ADMIN)

        def body() -> tuple[str, list[Any]]:
            identity = self.find(Identity, identity_id(member_id))
            if identity is None:
                return "not_enrolled", []  # no biometrics were ever recorded
            identity.erase(actor)
            return identity.status, [identity]

        return self.run("erase_identity", actor, key, {"m": member_id}, body)

    def close_account(self, actor: Actor, key: str | None = None) -> str:
        """The member leaves, in any state (suspended, unverified, held): their cameo is
        disabled, their identity erased and every key revoked, in one transaction; the
        revocation process then takes down the videos that featured them and deletes the
        ones they made."""
        require_role(actor, Role.MEMBER)
        member_id = UUID(actor.id)

        def body() -> tuple[str, list[Any]]:
            member = self.get(Member, member_id, "member")
            cameo = self.find(Cameo, cameo_id(member_id))
            if cameo is not None:
                cameo.disable(actor)
            identity = self.find(Identity, identity_id(member_id))
            if identity is not None:
                identity.erase(actor)
            member.close(actor)
            return "closed", [member, cameo, identity]

        return self.run("close_account", actor, key, {}, body)
