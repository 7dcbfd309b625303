"""A member's in-app inbox: only the read marker is recorded (the notifications themselves are
a read model of the log, projections/notifications.py)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate

_INBOX = UUID("0f7b6f1c-3a55-4c1e-9d51-2b7f3f6a9e21")


def inbox_id(member_id: UUID) -> UUID:
    return uuid5(_INBOX, member_id.hex)


class Inbox(ConsentryAggregate):
    """Invariant: the marker only moves forward (reading an old page unreads nothing)."""

    class Opened(ConsentryAggregate.Created):
        member_id: UUID

    def __init__(self, member_id: UUID, **kwargs: Any) -> None:
        self.member_id = member_id
        self.read_up_to = 0

    @classmethod
    def open(cls, actor: Actor, member_id: UUID) -> Inbox:
        return cls._create(cls.Opened, id=inbox_id(member_id), actor_id=actor.id,
                           actor_role=str(actor.role), member_id=member_id)

    class Read(ConsentryAggregate.Event):
        """Every notification up to `up_to` (its id) has been read."""

        up_to: int

        def apply(self, inbox: Inbox) -> None:
            inbox.read_up_to = self.up_to

    def mark_read(self, actor: Actor, up_to: int) -> bool:
        if up_to <= self.read_up_to:
            return False
        self._emit(self.Read, actor, up_to=up_to)
        return True
