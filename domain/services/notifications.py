"""Members' inbox commands: the read marker (the notifications are a read model)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from domain.errors import ValidationError
from domain.inbox import Inbox, inbox_id
from domain.services.access import require_role
from domain.services.core import CoreApplication


class NotificationCommands(CoreApplication):
    def mark_notifications_read(self, actor: Actor, up_to: int, key: str | None = None
                                ) -> int:
        """Marks every notification up to `up_to` (a notification id) read; returns the
        marker, which never moves back."""
        require_role(actor, Role.MEMBER)
        if up_to < 0:
            raise ValidationError("up_to is a notification id")

        def body() -> tuple[int, list[Any]]:
            member_id = UUID(actor.id)
            inbox = self.find(Inbox, inbox_id(member_id)) or Inbox.open(actor, member_id)
            inbox.mark_read(actor, up_to)
            return inbox.read_up_to, [inbox]

        result: int = self.run("mark_notifications_read", actor, key, {"u": up_to}, body)
        return result
