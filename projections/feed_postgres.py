"""The feed on PostgreSQL (asyncpg): the same events, ranking model and answers as the
in-memory view, with every key computed from the stored base score in SQL."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.feed_preferences import FeedPreferences
from domain.generation import DECIDED, FINAL, Generation
from domain.member import Member
from projections.base import RowwisePostgresView
from projections.feed_ranking import (
    BOOSTS,
    LESS_OF_PENALTY,
    PERSONALISATION_OFF,
    REMIXED,
    Change,
    FeedItem,
    VideoState,
    change_of,
    connections,
    display_score,
    engagement,
    feed_cursor,
    read_cursor,
    reasons,
    view_change,
)

_STATE = ("published_at", "recency", "live", "restricted", "likes", "remixes", "views",
          "completions", "watched_seconds", "base", "in_feed")
_SAVE = ("UPDATE {s}.feed_videos SET "  # noqa: S608 - constant column names
         + ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(_STATE)) + " WHERE id = $1")

# A viewer's connections ($2 followed, $3 mutuals) give a boost, the strongest one;
# creators they see less of ($4) a penalty. Three disjoint parts, each ranked and cut
# to the page on its own: connected videos (keys computed), unconnected ones (key: the
# base score, read down its index) and unconnected ones from less-of creators.
_CONNECTED = ("v.creator_id = ANY($2::uuid[])"
              " OR v.cameo_owner_ids && ($2::uuid[] || $1::uuid)")
_RANKED = """
WITH connected AS (
  SELECT v.id, v.base + GREATEST(
      CASE WHEN v.creator_id = ANY($3::uuid[]) THEN $8::float8
           WHEN v.creator_id = ANY($2::uuid[]) THEN $9::float8 ELSE 0 END,
      CASE WHEN $1::uuid = ANY(v.cameo_owner_ids) THEN $10::float8 ELSE 0 END,
      CASE WHEN v.cameo_owner_ids && $3::uuid[] THEN $11::float8
           WHEN v.cameo_owner_ids && $2::uuid[] THEN $12::float8 ELSE 0 END)
    - CASE WHEN v.creator_id = ANY($4::uuid[]) THEN $13::float8 ELSE 0 END AS key
  FROM {s}.feed_videos v
  WHERE v.in_feed AND v.creator_id <> $1 AND ({connected})
), picked AS (
  (SELECT id, key FROM connected
    WHERE $5::float8 IS NULL OR (key, id) < ($5::float8, $6::uuid)
    ORDER BY key DESC, id DESC LIMIT $7)
  UNION ALL
  (SELECT v.id, v.base AS key FROM {s}.feed_videos v
    WHERE v.in_feed AND v.creator_id <> $1 AND NOT v.creator_id = ANY($4::uuid[])
      AND NOT ({connected})
      AND ($5::float8 IS NULL OR (v.base, v.id) < ($5::float8, $6::uuid))
    ORDER BY v.base DESC, v.id DESC LIMIT $7)
  UNION ALL
  (SELECT v.id, v.base - $13::float8 AS key FROM {s}.feed_videos v
    WHERE v.in_feed AND v.creator_id <> $1 AND v.creator_id = ANY($4::uuid[])
      AND NOT ({connected})
      AND ($5::float8 IS NULL OR (v.base - $13::float8, v.id) < ($5::float8, $6::uuid))
    ORDER BY v.base DESC, v.id DESC LIMIT $7)
)
SELECT v.*, p.key, m.handle FROM picked p JOIN {s}.feed_videos v ON v.id = p.id
LEFT JOIN {s}.feed_members m ON m.id = v.creator_id
ORDER BY p.key DESC, p.id DESC LIMIT $7""".replace("{connected}", _CONNECTED)
_LATEST = """
SELECT v.*, v.recency AS key, m.handle FROM {s}.feed_videos v
LEFT JOIN {s}.feed_members m ON m.id = v.creator_id
WHERE v.in_feed AND v.creator_id <> $1
  AND ($2::float8 IS NULL OR (v.recency, v.id) < ($2::float8, $3::uuid))
ORDER BY v.recency DESC, v.id DESC LIMIT $4"""
_BOOST_ARGS = (BOOSTS["mutual_creator"], BOOSTS["followed_creator"], BOOSTS["features_you"],
               BOOSTS["features_mutual"], BOOSTS["features_followed"], LESS_OF_PENALTY)


class PostgresFeedView(RowwisePostgresView):
    """Videos with their base score in one table, partial indexes over those in the feed
    (by base score, by recency, by creator, and GIN over the people featured), the follow
    graph, handles and preferences. Views are counted in the same table, in a row-locked
    transaction like the events', so several API processes can record them; a rebuild of
    the view (a new `version`) starts their counts again, as the log does not hold them."""

    name = "feed"
    _recorded = 0
    ddl = (
        "CREATE TABLE IF NOT EXISTS {s}.feed_videos ("
        " id UUID PRIMARY KEY, creator_id UUID NOT NULL, cameo_owner_ids UUID[] NOT NULL,"
        " remix_of UUID, published_at TIMESTAMPTZ, recency DOUBLE PRECISION,"
        " live BOOLEAN NOT NULL DEFAULT false, restricted BOOLEAN NOT NULL DEFAULT false,"
        " likes INT NOT NULL DEFAULT 0, remixes INT NOT NULL DEFAULT 0,"
        " views BIGINT NOT NULL DEFAULT 0, completions BIGINT NOT NULL DEFAULT 0,"
        " watched_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,"
        " base DOUBLE PRECISION NOT NULL DEFAULT 0, in_feed BOOLEAN NOT NULL DEFAULT false)",
        "CREATE INDEX IF NOT EXISTS feed_videos_ranked"
        " ON {s}.feed_videos (base DESC, id DESC) WHERE in_feed",
        "CREATE INDEX IF NOT EXISTS feed_videos_latest"
        " ON {s}.feed_videos (recency DESC, id DESC) WHERE in_feed",
        "CREATE INDEX IF NOT EXISTS feed_videos_creator"
        " ON {s}.feed_videos (creator_id, base DESC) WHERE in_feed",
        "CREATE INDEX IF NOT EXISTS feed_videos_cameos"
        " ON {s}.feed_videos USING GIN (cameo_owner_ids) WHERE in_feed",
        "CREATE TABLE IF NOT EXISTS {s}.feed_follows ("
        " follower UUID NOT NULL, followee UUID NOT NULL, PRIMARY KEY (follower, followee))",
        "CREATE INDEX IF NOT EXISTS feed_follows_followee"
        " ON {s}.feed_follows (followee, follower)",
        "CREATE TABLE IF NOT EXISTS {s}.feed_members (id UUID PRIMARY KEY, handle TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {s}.feed_preferences ("
        " member_id UUID PRIMARY KEY, personalised BOOLEAN NOT NULL, less_of UUID[] NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {s}.feed_view_keys ("
        " viewer_id UUID NOT NULL, key TEXT NOT NULL,"
        " recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (viewer_id, key))",
    )

    async def handle(self, conn: asyncpg.Connection, position: int, event: Any) -> None:
        match event:
            case Member.Registered():
                await conn.execute(self.q(
                    "INSERT INTO {s}.feed_members VALUES ($1, $2)"
                    " ON CONFLICT (id) DO UPDATE SET handle = EXCLUDED.handle"),
                    event.originator_id, event.handle)
            case Member.Followed():
                await conn.execute(self.q(
                    "INSERT INTO {s}.feed_follows VALUES ($1, $2) ON CONFLICT DO NOTHING"),
                    event.originator_id, event.member_id)
            case Member.Unfollowed():
                await conn.execute(self.q(
                    "DELETE FROM {s}.feed_follows WHERE follower = $1 AND followee = $2"),
                    event.originator_id, event.member_id)
            case FeedPreferences.Changed():
                await conn.execute(self.q(
                    "INSERT INTO {s}.feed_preferences VALUES ($1, $2, $3) ON CONFLICT"
                    " (member_id) DO UPDATE SET personalised = EXCLUDED.personalised,"
                    " less_of = EXCLUDED.less_of"),
                    event.member_id, event.personalised, list(event.less_of))
            case Generation.Requested():
                await conn.execute(self.q(
                    "INSERT INTO {s}.feed_videos (id, creator_id, cameo_owner_ids, remix_of)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"),
                    event.originator_id, event.requester_id, list(event.cameo_owner_ids),
                    event.remix_of)
            case Generation.Decided() if DECIDED[event.outcome] in FINAL:
                await conn.execute(self.q("DELETE FROM {s}.feed_videos WHERE id = $1"),
                                   event.originator_id)
            case Generation.Decided():
                await conn.execute(self.q(
                    "UPDATE {s}.feed_videos SET cameo_owner_ids = $2 WHERE id = $1"),
                    event.originator_id, list(event.featured_member_ids))
            case _:
                found = change_of(event)
                if found is not None:
                    await self._change(conn, *found)

    async def _load(self, conn: asyncpg.Connection, generation_id: UUID) -> VideoState | None:
        record = await conn.fetchrow(self.q(
            "SELECT * FROM {s}.feed_videos WHERE id = $1 FOR UPDATE"), generation_id)
        return _video(record) if record is not None else None

    async def _change(self, conn: asyncpg.Connection, generation_id: UUID,
                      change: Change) -> None:
        video = await self._load(conn, generation_id)
        if video is None:
            return
        first = video.apply(change)
        await self._save(conn, video)
        if first and video.remix_of is not None:
            await self._change(conn, video.remix_of, REMIXED)

    async def _save(self, conn: asyncpg.Connection, video: VideoState) -> None:
        await conn.execute(self.q(_SAVE), video.id, video.published_at, video.recency,
                           video.live, video.restricted, video.likes, video.remixes,
                           video.views, video.completions, video.watched, video.base,
                           video.in_feed)

    async def record_view(self, generation_id: UUID, viewer_id: UUID, watched_seconds: float,
                          completed: bool, key: str | None = None) -> bool:
        """Counts one view (not an event). False if the video is not in the feed; a
        creator watching their own video, or a retry with an idempotency `key` already
        seen from this viewer (in the last day), is accepted but not counted."""
        async with self.pool.acquire() as conn, conn.transaction():
            video = await self._load(conn, generation_id)
            if video is None or not video.in_feed:
                return False
            if key is not None and not await self._first_use(conn, viewer_id, key):
                return True
            if viewer_id != video.creator:
                video.apply(view_change(watched_seconds, completed))
                await self._save(conn, video)
        return True

    async def _first_use(self, conn: asyncpg.Connection, viewer_id: UUID, key: str) -> bool:
        self._recorded += 1
        if self._recorded % 1000 == 0:  # now and then, forget keys older than a day
            await conn.execute(self.q(
                "DELETE FROM {s}.feed_view_keys WHERE recorded_at < now() - interval '1 day'"))
        return await conn.fetchval(self.q(
            "INSERT INTO {s}.feed_view_keys (viewer_id, key) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING RETURNING true"), viewer_id, key) is not None

    async def feed(self, viewer_id: UUID, cursor: str | None = None, limit: int = 20,
                   now: datetime | None = None) -> tuple[list[FeedItem], str | None]:
        """One page for `viewer_id` (their own videos left out) and the cursor of the
        next one. Pages follow the order at the time each is asked for."""
        at = now.timestamp() if now is not None else time.time()
        async with self.pool.acquire() as conn:
            preferences = await conn.fetchrow(self.q(
                "SELECT personalised, less_of FROM {s}.feed_preferences WHERE member_id = $1"),
                viewer_id)
            personalised = preferences["personalised"] if preferences else True
            after = read_cursor(cursor, personalised)
            after_key, after_id = after if after else (None, None)
            following: set[UUID] = set()
            mutuals: set[UUID] = set()
            if personalised:
                for record in await conn.fetch(self.q(
                        "SELECT f.followee, EXISTS (SELECT 1 FROM {s}.feed_follows b"
                        " WHERE b.follower = f.followee AND b.followee = $1) AS mutual"
                        " FROM {s}.feed_follows f WHERE f.follower = $1"), viewer_id):
                    following.add(record["followee"])
                    if record["mutual"]:
                        mutuals.add(record["followee"])
                records = await conn.fetch(
                    self.q(_RANKED), viewer_id, list(following), list(mutuals),
                    list(preferences["less_of"]) if preferences else [], after_key, after_id,
                    limit + 1, *_BOOST_ARGS)
            else:
                records = await conn.fetch(self.q(_LATEST), viewer_id, after_key, after_id,
                                           limit + 1)
        items = []
        for record in records[:limit]:
            cameos = tuple(record["cameo_owner_ids"])
            why = reasons(connections(viewer_id, record["creator_id"], cameos, following,
                                      mutuals),
                          engagement(record["likes"], record["remixes"],
                                     record["completions"], record["views"]),
                          at - record["published_at"].timestamp()) \
                if personalised else (PERSONALISATION_OFF,)
            items.append(FeedItem(record["id"], record["creator_id"], record["handle"] or "",
                                  display_score(record["key"], at), why, record["likes"],
                                  record["published_at"]))
        next_cursor = None
        if len(records) > limit:
            last = records[limit - 1]
            next_cursor = feed_cursor(personalised, last["key"], last["id"])
        return items, next_cursor


def _video(record: Any) -> VideoState:
    return VideoState(record["id"], record["creator_id"], tuple(record["cameo_owner_ids"]),
                      record["remix_of"], record["published_at"], record["recency"],
                      record["live"], record["restricted"], record["likes"],
                      record["remixes"], record["views"], record["completions"],
                      record["watched_seconds"])
