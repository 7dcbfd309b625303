"""A member's in-app notifications (read model of the log) and their read marker."""

from __future__ import annotations

from uuid import UUID

from litestar import get, post
from litestar.params import JSONBody

from api.controllers.identity import CursorQuery, Limit
from api.deps import (
    WITHDRAWAL,
    ActorDep,
    AuthenticatedController,
    IdempotencyKey,
    Req,
    command,
    container,
    require,
    views,
)
from api.schemas.notifications import (
    NotificationOut,
    NotificationPage,
    ReadMarkerIn,
    ReadMarkerOut,
)
from domain.actors import Role


class NotificationController(AuthenticatedController):
    path = "/members/me/notifications"
    tags = ["members"]

    @get("/", operation_id="listMyNotifications", opt=WITHDRAWAL)
    async def list_notifications(self, request: Req, actor: ActorDep,
                                 cursor: CursorQuery = None, limit: Limit = 50
                                 ) -> NotificationPage:
        """Newest first, each marked read or not, with the unread count."""
        require(actor, Role.MEMBER)
        view = views(request).notifications
        me = UUID(actor.id)
        rows, next_cursor = await view.list_for(me, cursor, limit)
        read_up_to, unread, _ = await view.marker(me)
        return NotificationPage([NotificationOut.of(n, read_up_to) for n in rows],
                                next_cursor, unread, read_up_to)

    @post("/read", operation_id="markNotificationsRead", status_code=200, opt=WITHDRAWAL)
    async def mark_read(self, request: Req, actor: ActorDep, data: JSONBody[ReadMarkerIn],
                        idempotency_key: IdempotencyKey = None) -> ReadMarkerOut:
        """Moves the read marker forward (never back)."""
        require(actor, Role.MEMBER)
        view = views(request).notifications
        me = UUID(actor.id)
        up_to = data.up_to if data.up_to is not None else (await view.marker(me))[2]
        await command(request, container(request).app.mark_notifications_read, actor, up_to,
                      key=idempotency_key)
        read_up_to, unread, _ = await view.marker(me)
        return ReadMarkerOut(read_up_to, unread)
