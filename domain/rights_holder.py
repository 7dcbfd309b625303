"""A studio, label, estate or artist: onboarded by an admin, holds several API keys."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from domain.actors import Actor, Role
from domain.aggregate import ConsentryAggregate, Principal


class RightsHolder(Principal):
    """Invariant: exists only through an admin's onboarding, with a proof of ownership."""

    role = Role.RIGHTS_HOLDER

    class Onboarded(ConsentryAggregate.Created):
        name: str
        proof: str

    def __init__(self, name: str, proof: str, **kwargs: Any) -> None:
        self._init_keys()
        self.name = name
        self.proof = proof

    @classmethod
    def onboard(cls, actor: Actor, name: str, proof: str) -> RightsHolder:
        return cls._create(cls.Onboarded, id=uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), name=name, proof=proof)
