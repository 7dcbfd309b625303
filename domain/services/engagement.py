"""Engagement commands: likes (events, per member and video) and feed preferences. Views and
watch time are not commands: they go straight to the feed's read store."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from domain.errors import InvalidTransitionError, NotFoundError
from domain.feed_preferences import FeedPreferences
from domain.generation import Generation, State, in_feed
from domain.ids import feed_preferences_id, like_id
from domain.like import Like
from domain.member import Member
from domain.services.access import require_role
from domain.services.review import ReviewCommands


def visible_to(generation: Generation, member_id: UUID) -> bool:
    """Published, unrestricted videos are seen by every member; anything else only by its
    author and the people featured in it (the same rule as the API's generation reads)."""
    if member_id == generation.requester_id or generation.features(member_id):
        return True
    return in_feed(generation.state, generation.restricted)


class EngagementCommands(ReviewCommands):
    def like(self, actor: Actor, generation_id: UUID, key: str | None = None) -> str:
        """Only a published video the member can see; a video they cannot see is "not
        found", so a like never reveals that a draft exists."""
        require_role(actor, Role.MEMBER)
        me = UUID(actor.id)

        def body() -> tuple[str, list[Any]]:
            self.get(Member, me)
            generation = self.find(Generation, generation_id)
            if generation is None or not visible_to(generation, me):
                raise NotFoundError("Generation not found", id=str(generation_id))
            if generation.state != State.PUBLISHED:
                raise InvalidTransitionError("only published videos can be liked",
                                             state=generation.state)
            like = self.find(Like, like_id(me, generation_id)) \
                or Like.create(actor, me, generation_id)
            like.like(actor)
            return "liked", [like]

        return self.run("like", actor, key, {"g": generation_id}, body)

    def unlike(self, actor: Actor, generation_id: UUID, key: str | None = None) -> str:
        """Withdrawing a like always works, whatever became of the video since (taken down,
        restricted): like any consent, it can be taken back. Unliking what was never liked
        changes nothing and reveals nothing."""
        require_role(actor, Role.MEMBER)
        me = UUID(actor.id)

        def body() -> tuple[str, list[Any]]:
            like = self.find(Like, like_id(me, generation_id))
            if like is None:
                return "not liked", []
            like.unlike(actor)
            return "not liked", [like]

        return self.run("unlike", actor, key, {"g": generation_id}, body)

    def set_feed_preferences(self, actor: Actor, personalised: bool,
                             less_of: tuple[UUID, ...] = (), key: str | None = None
                             ) -> dict[str, Any]:
        """Replaces the member's feed preferences: personalisation on or off, and the
        creators to see less of."""
        require_role(actor, Role.MEMBER)
        me = UUID(actor.id)

        def body() -> tuple[dict[str, Any], list[Any]]:
            preferences = self._preferences(actor, me)
            preferences.change(actor, personalised, tuple(less_of))
            return _preferences_out(preferences), [preferences]

        return self.run("set_feed_preferences", actor, key,
                        {"p": personalised, "l": sorted(map(str, less_of))}, body)

    def feed_preferences(self, actor: Actor) -> dict[str, Any]:
        require_role(actor, Role.MEMBER)
        me = UUID(actor.id)
        return _preferences_out(self._preferences(actor, me))

    def _preferences(self, actor: Actor, member_id: UUID) -> FeedPreferences:
        found = self.find(FeedPreferences, feed_preferences_id(member_id))
        return found if found is not None else FeedPreferences.create(actor, member_id)


def _preferences_out(preferences: FeedPreferences) -> dict[str, Any]:
    return {"personalised": preferences.personalised,
            "less_of": [str(m) for m in preferences.less_of]}
