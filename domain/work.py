"""A protected work held by a rights holder: a character, brand, artwork, voice or a public
figure's likeness. Its grants are linked here so the gate can find them consistently."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import ValidationError
from domain.retroactive import MATCH_POLICIES

WORK_KINDS = ("character", "brand", "artwork", "voice", "likeness")
MIN_ALIAS_CHARS = 3


class Work(ConsentryAggregate):
    """Invariants: at least one alias; a withdrawn work takes no references or grants."""

    class Registered(ConsentryAggregate.Created):
        rights_holder_id: UUID
        title: str
        kind: str
        aliases: tuple[str, ...]
        description: str
        likeness_member_id: UUID | None

    def __init__(self, rights_holder_id: UUID, title: str, kind: str, aliases: tuple[str, ...],
                 description: str, likeness_member_id: UUID | None, **kwargs: Any) -> None:
        self.rights_holder_id = rights_holder_id
        self.title = title
        self.kind = kind
        self.aliases = aliases
        self.description = description
        self.likeness_member_id = likeness_member_id
        self.references: dict[str, dict[str, Any]] = {}
        self.grant_ids: list[UUID] = []
        self.withdrawn = False
        self.match_policy = "review"  # until the rights holder chooses (MATCH_POLICIES)

    @classmethod
    def register(cls, actor: Actor, rights_holder_id: UUID, title: str, kind: str,
                 aliases: tuple[str, ...], description: str = "",
                 likeness_member_id: UUID | None = None) -> Work:
        if kind not in WORK_KINDS:
            raise ValidationError(f"unknown work kind {kind!r}", allowed=list(WORK_KINDS))
        cleaned = tuple(dict.fromkeys(a.strip() for a in (title, *aliases) if a.strip()))
        if not cleaned:
            raise ValidationError("a work needs a title or alias")
        short = [a for a in cleaned if sum(ch.isalnum() for ch in a) < MIN_ALIAS_CHARS]
        if short:
            # Shorter names would match inside ordinary prompts all the time.
            raise ValidationError(f"aliases need at least {MIN_ALIAS_CHARS} letters or digits",
                                  aliases=short)
        return cls._create(cls.Registered, id=uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), rights_holder_id=rights_holder_id,
                           title=title, kind=kind, aliases=cleaned, description=description,
                           likeness_member_id=likeness_member_id)

    class ReferenceAdded(ConsentryAggregate.Event):
        """`face_template`: for a likeness work, the reference's face template sealed under
        the work's key (domain.faces.likeness_key), with the model that made it; empty
        otherwise. The 1:N face index enrols it."""

        digest: str
        media_type: str
        hashes: dict[str, str]
        embedding_ref: str
        face_template: bytes
        face_model_id: str
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["face_template"] = b""
            state["face_model_id"] = ""

        def apply(self, work: Work) -> None:
            work.references[self.digest] = {"media_type": self.media_type,
                                            "hashes": dict(self.hashes),
                                            "embedding_ref": self.embedding_ref,
                                            "face_enrolled": bool(self.face_template)}

    class GrantLinked(ConsentryAggregate.Event):
        grant_id: UUID

        def apply(self, work: Work) -> None:
            work.grant_ids.append(self.grant_id)

    class Withdrawn(ConsentryAggregate.Event):
        reason: str

        def apply(self, work: Work) -> None:
            work.withdrawn = True

    def add_reference(self, actor: Actor, digest: str, media_type: str,
                      hashes: dict[str, str] | None = None, embedding_ref: str = "",
                      face_template: bytes = b"", face_model_id: str = "") -> None:
        self._require(not self.withdrawn, "work was withdrawn")
        self._require(not face_template or self.kind == "likeness",
                      "only a likeness work enrols reference faces")
        if digest not in self.references:
            self._emit(self.ReferenceAdded, actor, digest=digest, media_type=media_type,
                       hashes=dict(hashes or {}), embedding_ref=embedding_ref,
                       face_template=face_template, face_model_id=face_model_id)

    class MatchPolicySet(ConsentryAggregate.Event):
        """What happens when a video is found using the work after the fact: `block`
        (taken down), `review` (a case) or `track` (listed, nothing taken down)."""

        policy: str

        def apply(self, work: Work) -> None:
            work.match_policy = self.policy

    def set_match_policy(self, actor: Actor, policy: str) -> None:
        if policy not in MATCH_POLICIES:
            raise ValidationError("unknown match policy", allowed=list(MATCH_POLICIES))
        if policy != self.match_policy:
            self._emit(self.MatchPolicySet, actor, policy=policy)

    def link_grant(self, actor: Actor, grant_id: UUID) -> None:
        self._require(not self.withdrawn, "work was withdrawn")
        self._emit(self.GrantLinked, actor, grant_id=grant_id)

    def withdraw(self, actor: Actor, reason: str = "") -> None:
        self._require(not self.withdrawn, "work was already withdrawn")
        self._emit(self.Withdrawn, actor, reason=reason)
