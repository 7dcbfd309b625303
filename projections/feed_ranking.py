"""The feed's ranking model, shared by the in-memory and PostgreSQL feed views so that both
rank alike: per-video state and base score, the viewer's connections, reasons and cursors.

A video's base score is `ln(1 + engagement) + published_time / RECENCY_SECONDS`: recency
decay written in log space, so the order of two videos does not change as time passes and
a maintained sorted index stays valid. A viewer adds a boost for the strongest connection
(followed creator, a friend featured...) and a penalty for creators they see less of."""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from domain.generation import Generation, State, target_of
from domain.like import Like
from projections.base import InvalidCursorError, decode_cursor, encode_cursor

EPOCH = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
RECENCY_SECONDS = 8 * 3600.0  # eight hours of age cost as much as e-fold engagement
RECENT_SECONDS = 24 * 3600.0  # younger than this: reason "recent"
POPULAR_ENGAGEMENT = 10.0  # at least this much engagement: reason "popular"
LIKE_WEIGHT, REMIX_WEIGHT, COMPLETION_WEIGHT, VIEW_WEIGHT = 3.0, 2.0, 1.0, 0.2
LESS_OF_PENALTY = 4.0

# Connection reasons and their boosts, strongest first; a video gets its strongest one.
BOOSTS: dict[str, float] = {
    "features_you": 3.5,
    "mutual_creator": 3.5,
    "followed_creator": 3.0,
    "features_mutual": 2.5,
    "features_followed": 2.0,
}
MAX_PENALTY = LESS_OF_PENALTY
_STRENGTH = {reason: n for n, reason in enumerate(BOOSTS)}
PERSONALISATION_OFF = "personalisation_off"


def engagement(likes: int, remixes: int, completions: int, views: int) -> float:
    # A completed view counts 1.2, an abandoned one 0.2: completion rate is in the sum.
    return (LIKE_WEIGHT * likes + REMIX_WEIGHT * remixes + COMPLETION_WEIGHT * completions
            + VIEW_WEIGHT * views)


def recency_of(published_at: datetime) -> float:
    return (published_at.timestamp() - EPOCH) / RECENCY_SECONDS


class VideoState:
    """What the feed knows of one generation. Mutated only through `apply`."""

    __slots__ = ("base", "cameo_keys", "cameos", "completions", "creator", "creator_key",
                 "engagement", "id", "likes", "live", "published_at", "published_ts",
                 "recency", "remix_of", "remixes", "restricted", "views", "watched")

    def __init__(self, id: UUID, creator: UUID, cameos: tuple[UUID, ...],
                 remix_of: UUID | None, published_at: datetime | None = None,
                 recency: float | None = None, live: bool = False, restricted: bool = False,
                 likes: int = 0, remixes: int = 0, views: int = 0, completions: int = 0,
                 watched: float = 0.0) -> None:
        self.id = id
        self.creator = creator
        self.cameos = cameos
        self.remix_of = remix_of
        self.published_at = published_at
        self.recency = recency
        self.live = live
        self.restricted = restricted
        self.likes = likes
        self.remixes = remixes
        self.views = views
        self.completions = completions
        self.watched = watched
        self.published_ts = published_at.timestamp() if published_at else 0.0
        self.engagement = self.base = 0.0
        self._refresh()
        # Ids as ints for the in-memory view: hashing a UUID runs Python code, an int's
        # does not, and a feed request looks up hundreds of them.
        self.creator_key = creator.int
        self.cameo_keys = tuple(c.int for c in cameos)

    def feature(self, members: tuple[UUID, ...]) -> None:
        """Everyone the video shows, inherited cameos of a remix included."""
        self.cameos = tuple(members)
        self.cameo_keys = tuple(c.int for c in members)

    @property
    def in_feed(self) -> bool:
        """Published now (not taken down, deleted, rejected or held) and not restricted."""
        return self.live and not self.restricted

    def _refresh(self) -> None:
        self.engagement = engagement(self.likes, self.remixes, self.completions, self.views)
        self.base = math.log1p(self.engagement) + (self.recency or 0.0)

    def apply(self, change: Change) -> bool:
        """Applies a change and refreshes the base score; True on first publication."""
        first = change.published_at is not None and self.published_at is None
        if first:
            assert change.published_at is not None
            self.published_at = change.published_at
            self.published_ts = change.published_at.timestamp()
            self.recency = recency_of(change.published_at)
        if change.live is not None:
            self.live = change.live
        if change.restricted:
            self.restricted = True
        self.likes = max(0, self.likes + change.likes)
        self.remixes += change.remixes
        self.views += change.views
        self.completions += change.completions
        self.watched += change.watched
        self._refresh()
        return first


@dataclass(frozen=True, slots=True)
class Change:
    """What one event (or one recorded view) does to one video."""

    live: bool | None = None
    restricted: bool = False
    published_at: datetime | None = None
    likes: int = 0
    remixes: int = 0
    views: int = 0
    completions: int = 0
    watched: float = 0.0


REMIXED = Change(remixes=1)


def change_of(event: Any) -> tuple[UUID, Change] | None:
    """The video an event changes and how (None: the event does not change a video).
    A video is in the feed while the lifecycle says it is published; a restriction keeps
    it out for good."""
    match event:
        case Like.Liked():
            return event.generation_id, Change(likes=1)
        case Like.Unliked():
            return event.generation_id, Change(likes=-1)
        case Generation.Event():
            state = target_of(event)
            restricted = isinstance(event, Generation.Restricted)
            if state is None and not restricted:
                return None
            published = event.timestamp if isinstance(event, Generation.Published) else None
            return event.originator_id, Change(
                live=None if state is None else state == State.PUBLISHED,
                restricted=restricted, published_at=published)
    return None


def view_change(watched_seconds: float, completed: bool) -> Change:
    return Change(views=1, completions=int(completed), watched=max(0.0, watched_seconds))


def connections(viewer: Hashable, creator: Hashable, cameos: tuple[Hashable, ...],
                following: Collection[Hashable], mutuals: Collection[Hashable]) -> list[str]:
    """The viewer's connections to a video, strongest first (empty: none). Member ids are
    UUIDs or their ints, the same kind throughout."""
    found = []
    if cameos and viewer in cameos:
        found.append("features_you")
    if creator in following:
        found.append("mutual_creator" if creator in mutuals else "followed_creator")
    if cameos:
        featured = {"features_mutual" if p in mutuals else "features_followed"
                    for p in cameos if p in following}
        found += sorted(featured, key=_STRENGTH.__getitem__)
    return found


def reasons(found: list[str], video_engagement: float, age_seconds: float) -> tuple[str, ...]:
    """"Why am I seeing this": the connections, then popularity and recency; a video with
    none of them is a discovery from outside the viewer's network."""
    out = list(found)
    if video_engagement >= POPULAR_ENGAGEMENT:
        out.append("popular")
    if age_seconds <= RECENT_SECONDS:
        out.append("recent")
    return tuple(out) or ("discover",)


class FeedItem(NamedTuple):
    generation_id: UUID
    creator_id: UUID
    creator_handle: str
    score: float  # log-scale relevance at the time of the request; higher ranks first
    reasons: tuple[str, ...]
    likes: int
    published_at: datetime


def display_score(key: float, now: float) -> float:
    return round(key - (now - EPOCH) / RECENCY_SECONDS, 4)


def feed_cursor(personalised: bool, key: float, generation_id: UUID) -> str:
    return encode_cursor("p" if personalised else "r", key, generation_id.hex)


def read_cursor(cursor: str | None, personalised: bool) -> tuple[float, UUID] | None:
    """(key, generation id) of the last item served. A cursor from the other mode (the
    member switched personalisation between pages) starts again from the top."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        mode, key, hex_id = values
        if not isinstance(key, int | float) or isinstance(key, bool):
            raise TypeError
        after = (float(key), UUID(hex=hex_id))
    except (TypeError, ValueError):
        raise InvalidCursorError("malformed cursor") from None
    return after if mode == ("p" if personalised else "r") else None
