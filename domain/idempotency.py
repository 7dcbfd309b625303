"""The first result of a command sent with an idempotency key, saved in the same transaction
as the command's own events, so a retry can return it without doing anything again."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate


class IdempotencyRecord(ConsentryAggregate):
    """Invariant: one per (actor, key); its id derives from them."""

    class Recorded(ConsentryAggregate.Created):
        command: str
        fingerprint: str
        result: Any

    def __init__(self, command: str, fingerprint: str, result: Any, **kwargs: Any) -> None:
        self.command = command
        self.fingerprint = fingerprint
        self.result = result

    @classmethod
    def record(cls, actor: Actor, record_id: UUID, command: str, fingerprint: str,
               result: Any) -> IdempotencyRecord:
        return cls._create(cls.Recorded, id=record_id, actor_id=actor.id,
                           actor_role=str(actor.role), command=command,
                           fingerprint=fingerprint, result=result)
