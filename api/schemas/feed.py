"""The feed: pages of ranked videos with their reasons, recorded views, likes, preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from projections.feed_ranking import MAX_PENALTY, FeedItem

REASONS = ("features_you · mutual_creator · followed_creator · features_mutual · "
           "features_followed · popular · recent · discover · personalisation_off")


class FeedItemOut(msgspec.Struct):
    generation_id: UUID
    creator_id: UUID
    creator_handle: str
    score: Annotated[float, msgspec.Meta(
        description="Log-scale relevance at the time of the request; higher ranks first.")]
    reasons: Annotated[tuple[str, ...], msgspec.Meta(
        description="Why this video is in your feed, strongest first: " + REASONS)]
    likes: int
    published_at: datetime

    @classmethod
    def of(cls, item: FeedItem) -> FeedItemOut:
        # Positional, and ids left as UUIDs for msgspec to write: this runs for every item
        # of every page.
        return cls(item.generation_id, item.creator_id, item.creator_handle, item.score,
                   item.reasons, item.likes, item.published_at)


class FeedPage(msgspec.Struct):
    items: list[FeedItemOut]
    next_cursor: str | None


class ViewIn(msgspec.Struct, forbid_unknown_fields=True):
    watched_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)]
    completed: bool = False


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True):
    personalised: bool = True
    less_of: Annotated[list[str], msgspec.Meta(
        max_length=500, description="Member ids of creators to see less of (their videos "
        f"rank as if {MAX_PENALTY:g} log-points lower).")] = msgspec.field(
        default_factory=list)


class PreferencesOut(msgspec.Struct):
    personalised: bool
    less_of: list[str]
