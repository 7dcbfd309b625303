"""Members' in-app notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from projections.notifications import Notification


class NotificationOut(msgspec.Struct):
    """`kind`: appearance (in a draft or a published video, by @handle), taken_down (one's
    video, with the cause), review_outcome, strike (`state`: added, with the policy code and
    its expiry, or withdrawn on appeal), verification, takedown_request (someone asked for a
    video one appears in to be removed as intimate imagery: its reference and deadline)."""

    id: int
    kind: str
    data: dict[str, Any]
    created_at: datetime
    read: bool

    @classmethod
    def of(cls, n: Notification, read_up_to: int) -> NotificationOut:
        return cls(n.id, n.kind, n.data, n.created_at, n.id <= read_up_to)


class NotificationPage(msgspec.Struct):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int
    read_up_to: int


class ReadMarkerIn(msgspec.Struct):
    """Everything up to this notification id is read; omitted: everything so far."""

    up_to: Annotated[int, msgspec.Meta(ge=0)] | None = None


class ReadMarkerOut(msgspec.Struct):
    read_up_to: int
    unread_count: int
