"""The feed (SPEC journey 6): a member's ranked page of published videos with the reasons
for each, recorded views and watch time, likes, and feed preferences."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import delete, get, post, put
from litestar.params import FromPath, JSONBody

from api.controllers.identity import CursorQuery, Limit
from api.deps import (
    ActorDep,
    AuthenticatedController,
    IdempotencyKey,
    Req,
    command,
    container,
    require,
    views,
)
from api.schemas.common import Ack
from api.schemas.feed import FeedItemOut, FeedPage, PreferencesIn, PreferencesOut, ViewIn
from domain.actors import Role
from domain.errors import NotFoundError, ValidationError


def _member_ids(texts: list[str]) -> tuple[UUID, ...]:
    try:
        return tuple(UUID(t) for t in texts)
    except ValueError:
        raise ValidationError("less_of holds member ids (UUIDs)") from None


class FeedController(AuthenticatedController):
    path = "/feed"
    tags = ["feed"]

    @get("/", operation_id="getFeed")
    async def feed(self, request: Req, actor: ActorDep, cursor: CursorQuery = None,
                   limit: Limit = 20) -> FeedPage:
        """Published videos ranked for the caller (follows, friends featured, engagement,
        recency; newest first with personalisation off), each with its reasons. Pass
        `next_cursor` back as `cursor` for the next page."""
        require(actor, Role.MEMBER)
        items, next_cursor = await views(request).feed.feed(UUID(actor.id), cursor, limit)
        return FeedPage(items=[FeedItemOut.of(i) for i in items], next_cursor=next_cursor)

    @post("/{generation_id:uuid}/views", operation_id="recordView", status_code=202)
    async def record_view(self, request: Req, actor: ActorDep, generation_id: FromPath[UUID],
                          data: JSONBody[ViewIn],
                          idempotency_key: IdempotencyKey = None) -> Ack:
        """Counts one view with its watch time (and whether it was watched to the end).
        Views go to the feed's store, not the event log: they are many and only rank."""
        require(actor, Role.MEMBER)
        counted = await views(request).feed.record_view(
            generation_id, UUID(actor.id), data.watched_seconds, data.completed,
            idempotency_key)
        if not counted:
            raise NotFoundError("Generation not found in the feed", id=str(generation_id))
        return Ack(status="recorded")

    @get("/preferences", operation_id="getFeedPreferences", sync_to_thread=True)
    def preferences(self, request: Req, actor: ActorDep) -> PreferencesOut:
        """The caller's feed preferences, read from their record (never stale)."""
        found: dict[str, Any] = container(request).app.feed_preferences(actor)
        return PreferencesOut(personalised=found["personalised"], less_of=found["less_of"])

    @put("/preferences", operation_id="setFeedPreferences")
    async def set_preferences(self, request: Req, actor: ActorDep,
                              data: JSONBody[PreferencesIn],
                              idempotency_key: IdempotencyKey = None) -> PreferencesOut:
        """Personalisation on or off (off: newest first, nothing inferred about you), and
        the creators to see less of. Replaces the previous preferences."""
        app = container(request).app
        found = await command(request, app.set_feed_preferences, actor, data.personalised,
                              _member_ids(data.less_of), key=idempotency_key)
        return PreferencesOut(personalised=found["personalised"], less_of=found["less_of"])


class LikeController(AuthenticatedController):
    path = "/generations"
    tags = ["feed"]

    @post("/{generation_id:uuid}/like", operation_id="likeGeneration", status_code=200)
    async def like(self, request: Req, actor: ActorDep, generation_id: FromPath[UUID],
                   idempotency_key: IdempotencyKey = None) -> Ack:
        """Likes a published video the caller can see (liking twice changes nothing)."""
        app = container(request).app
        return Ack(await command(request, app.like, actor, generation_id,
                                 key=idempotency_key))

    @delete("/{generation_id:uuid}/like", operation_id="unlikeGeneration", status_code=200)
    async def unlike(self, request: Req, actor: ActorDep,
                     generation_id: FromPath[UUID]) -> Ack:
        """Withdraws the caller's like, whatever became of the video since."""
        app = container(request).app
        return Ack(await command(request, app.unlike, actor, generation_id))
