"""The feed (SPEC section 7): published, unrestricted videos that were not taken down or
deleted, ranked per viewer by their connections (follows, mutuals, friends featured),
engagement and recency, each with the reasons it was chosen. Ranking: `feed_ranking`.

Likes and follows arrive as events; views and watch time are recorded straight into this
read model by `record_view` (they are not events: too many, and nothing else needs them)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from datetime import datetime
from heapq import heapify, heappop, heappush, heapreplace
from typing import Any, NamedTuple
from uuid import UUID

from domain.feed_preferences import FeedPreferences
from domain.generation import DECIDED, FINAL, Generation
from domain.member import Member
from projections.base import InMemoryView
from projections.feed_postgres import PostgresFeedView
from projections.feed_ranking import (
    BOOSTS,
    EPOCH,
    LESS_OF_PENALTY,
    MAX_PENALTY,
    PERSONALISATION_OFF,
    RECENCY_SECONDS,
    REMIXED,
    Change,
    FeedItem,
    VideoState,
    change_of,
    connections,
    feed_cursor,
    read_cursor,
    reasons,
    view_change,
)
from projections.sorted_index import Entry, SortedIndex

_NONE: frozenset[int] = frozenset()
_OFF = (PERSONALISATION_OFF,)
_FEATURES_YOU, _MUTUAL_CREATOR, _FOLLOWED_CREATOR = (
    BOOSTS["features_you"], BOOSTS["mutual_creator"], BOOSTS["followed_creator"])
_FEATURES_MUTUAL, _FEATURES_FOLLOWED = BOOSTS["features_mutual"], BOOSTS["features_followed"]
_ABOVE_ANY_ID = 1 << 128
VIEW_KEYS_KEPT = 100_000  # idempotency keys of recorded views, per process
_MARGIN = 1e-9  # float slack when a cursor is turned into each index's start


class _Plan(NamedTuple):
    following: frozenset[int]
    mutuals: frozenset[int]
    creator_lift: dict[int, float]
    person_lift: dict[int, float]
    streams: list[tuple[SortedIndex, float]]


class InMemoryFeedView(InMemoryView):
    """The embedded default. Every video in the feed sits in sorted indexes by base score:
    one for all of them, one per member with the videos they made or appear in, one per
    member with those they appear in, and one by recency for personalisation off. A request
    merges the indexes of the people the viewer follows, each offset by its strongest boost,
    with the global one, reading from the top until a page is full: its cost grows with the
    viewer's follows and the page, not with the number of videos. Members are keyed by
    `UUID.int`. Views recorded here live as long as the process (the log has no views)."""

    name = "feed"

    def __init__(self) -> None:
        super().__init__()
        self.videos: dict[UUID, VideoState] = {}
        self.handles: dict[int, str] = {}
        self.following: dict[int, set[int]] = {}
        self.preferences: dict[int, tuple[bool, frozenset[int]]] = {}
        self.ranked = SortedIndex()
        self.latest = SortedIndex()
        self.involving: dict[int, SortedIndex] = {}  # made by or featuring the member
        self.featuring: dict[int, SortedIndex] = {}  # featuring the member
        self._by_int: dict[int, VideoState] = {}
        self._indexed: dict[int, Entry] = {}  # the entry each video in the feed sits under
        self._plans: dict[int, _Plan] = {}  # per viewer, until a follow touches them
        self._view_keys: OrderedDict[tuple[int, str], None] = OrderedDict()  # the latest

    # -- applying events -----------------------------------------------------------------
    def handle(self, position: int, event: Any) -> None:
        match event:
            case Member.Registered():
                self.handles[event.originator_id.int] = event.handle
            case Member.Followed() | Member.Unfollowed():
                follower, followee = event.originator_id.int, event.member_id.int
                follows = self.following.setdefault(follower, set())
                if isinstance(event, Member.Followed):
                    follows.add(followee)
                else:
                    follows.discard(followee)
                # The follower's connections changed, and whether they are the followee's
                # mutual.
                self._plans.pop(follower, None)
                self._plans.pop(followee, None)
            case FeedPreferences.Changed():
                self.preferences[event.member_id.int] = (
                    event.personalised, frozenset(m.int for m in event.less_of))
            case Generation.Requested():
                video = VideoState(event.originator_id, event.requester_id,
                                   tuple(event.cameo_owner_ids), event.remix_of)
                self.videos[video.id] = video
                self._by_int[video.id.int] = video
            case Generation.Decided() if DECIDED[event.outcome] in FINAL:
                denied = self.videos.pop(event.originator_id, None)  # never made
                if denied is not None:
                    self._by_int.pop(denied.id.int, None)
            case Generation.Decided():
                decided = self.videos.get(event.originator_id)
                if decided is not None:  # not in any index yet: nothing to move
                    decided.feature(event.featured_member_ids)
            case _:
                found = change_of(event)
                if found is not None:
                    self._change(*found)

    def _change(self, generation_id: UUID, change: Change) -> None:
        video = self.videos.get(generation_id)
        if video is None:
            return
        first = video.apply(change)
        self._reindex(video)
        if first and video.remix_of is not None:
            self._change(video.remix_of, REMIXED)

    def _indexes(self, video: VideoState) -> list[SortedIndex]:
        people = dict.fromkeys((video.creator_key, *video.cameo_keys))
        return [self.ranked, *(self.involving.setdefault(p, SortedIndex()) for p in people),
                *(self.featuring.setdefault(p, SortedIndex()) for p in video.cameo_keys)]

    def _reindex(self, video: VideoState) -> None:
        key = video.id.int
        old = self._indexed.get(key)
        if video.in_feed:
            new: Entry | None = (video.base, key, video.creator_key, video.cameo_keys)
            if old is not None and old[0] == new[0]:  # type: ignore[index]
                return
        else:
            new = None
            if old is None:
                return
        indexes = self._indexes(video)
        if old is not None:
            for index in indexes:
                index.remove(old)
            if new is None:
                self.latest.remove((video.recency or 0.0, key))
                del self._indexed[key]
        if new is not None:
            for index in indexes:
                index.add(new)
            if old is None:
                self.latest.add((video.recency or 0.0, key))
            self._indexed[key] = new

    # -- engagement recorded directly -----------------------------------------------------
    async def record_view(self, generation_id: UUID, viewer_id: UUID, watched_seconds: float,
                          completed: bool, key: str | None = None) -> bool:
        """Counts one view (not an event). False if the video is not in the feed; a
        creator watching their own video, or a retry with an idempotency `key` already
        seen from this viewer (among the latest keys), is accepted but not counted."""
        video = self.videos.get(generation_id)
        if video is None or not video.in_feed:
            return False
        if key is not None:
            seen = (viewer_id.int, key)
            if seen in self._view_keys:
                return True
            self._view_keys[seen] = None
            if len(self._view_keys) > VIEW_KEYS_KEPT:
                self._view_keys.popitem(last=False)
        if viewer_id != video.creator:
            self._change(generation_id, view_change(watched_seconds, completed))
        return True

    # -- the query ------------------------------------------------------------------------
    async def feed(self, viewer_id: UUID, cursor: str | None = None, limit: int = 20,
                   now: datetime | None = None) -> tuple[list[FeedItem], str | None]:
        """One page for `viewer_id` (their own videos left out) and the cursor of the
        next one. Pages follow the order at the time each is asked for."""
        viewer = viewer_id.int
        personalised, less_of = self.preferences.get(viewer, (True, _NONE))
        after = read_cursor(cursor, personalised)
        at = now.timestamp() if now is not None else time.time()
        plan = self._plans.get(viewer) or self._plan(viewer)
        if personalised:
            picked = self._ranked(viewer, plan, less_of, after, limit + 1)
        else:
            picked = self._latest(viewer, after, limit + 1)
        items = []
        handles, following, mutuals = self.handles, plan.following, plan.mutuals
        offset = (at - EPOCH) / RECENCY_SECONDS
        for key, video in picked[:limit]:
            why = reasons(connections(viewer, video.creator_key, video.cameo_keys, following,
                                      mutuals), video.engagement, at - video.published_ts) \
                if personalised else _OFF
            items.append(FeedItem(video.id, video.creator, handles.get(video.creator_key, ""),
                                  round(key - offset, 4), why, video.likes,
                                  video.published_at))  # type: ignore[arg-type]
        next_cursor = None
        if len(picked) > limit:
            key, video = picked[limit - 1]
            next_cursor = feed_cursor(personalised, key, video.id)
        return items, next_cursor

    def _plan(self, viewer: int) -> _Plan:
        """What a viewer's requests share until one of their follows changes: their
        connections, each connection's boost by creator and by person featured, and the
        indexes to merge (made now if missing, so that a first video joins the plan)."""
        following = frozenset(self.following.get(viewer, ()))
        mutuals = frozenset(c for c in following if viewer in self.following.get(c, ()))
        creator_lift = {c: _MUTUAL_CREATOR if c in mutuals else _FOLLOWED_CREATOR
                        for c in following}
        person_lift = {c: _FEATURES_MUTUAL if c in mutuals else _FEATURES_FOLLOWED
                       for c in following}
        person_lift[viewer] = _FEATURES_YOU
        # A followed member's index holds what they made and what they appear in: its
        # bound is the stronger of the two boosts, the creator's.
        streams = [(self.ranked, 0.0),
                   (self.featuring.setdefault(viewer, SortedIndex()), _FEATURES_YOU),
                   *((self.involving.setdefault(c, SortedIndex()), lift)
                     for c, lift in creator_lift.items())]
        plan = self._plans[viewer] = _Plan(following, mutuals, creator_lift, person_lift,
                                           streams)
        return plan

    def _ranked(self, viewer: int, plan: _Plan, less_of: frozenset[int],
                after: tuple[float, UUID] | None, wanted: int
                ) -> list[tuple[float, VideoState]]:
        # The indexes are read from the top, each entry offset by its index's boost
        # (`lift`, at least any boost of what the index holds), all merged in one heap. A
        # video's key is its base plus its strongest connection's boost, less any penalty:
        # never above its best entry. A video whose key is below the entry it was reached by
        # goes back into the heap at its key; since every index's head bounds what it still
        # holds, what leaves the heap comes out in final order. (A cursor may let the merge
        # skip a video's best entry; that video was on an earlier page.)
        creator_lift, person_lift, streams = plan.creator_lift, plan.person_lift, plan.streams
        bound = self._bound(viewer, less_of, wanted) if after is None else -math.inf
        heap = _heads(streams, after, bound)
        after_key, after_id = (after[0], after[1].int) if after else (0.0, 0)
        seen: set[int] = set()
        out: list[tuple[float, int]] = []
        while heap and len(out) < wanted:
            entry_key, negative_id, number, i, j, creator, cameos, base = heap[0]
            gid = -negative_id
            if number < 0:  # a video whose key was below its entry, now at its key
                heappop(heap)
                out.append((-entry_key, gid))
                continue
            index, lift = streams[number]
            if j:
                j -= 1
            elif i:
                i -= 1
                j = len(index.buckets[i]) - 1
            else:
                i = -1
            if i < 0:
                heappop(heap)
            else:
                score, next_id, next_creator, next_cameos = index.buckets[i][j]
                heapreplace(heap, (-(score + lift), -next_id, number, i, j, next_creator,
                                   next_cameos, score))
            if gid in seen or creator == viewer:
                continue
            seen.add(gid)
            lift = creator_lift.get(creator, 0.0)
            for person in cameos:
                lift = max(lift, person_lift.get(person, 0.0))
            key = base + lift
            if creator in less_of:
                key = key - LESS_OF_PENALTY
            if after is not None and (key > after_key or (key == after_key
                                                          and gid >= after_id)):
                continue
            if key == -entry_key:
                out.append((key, gid))
            else:
                heappush(heap, (-key, negative_id, -1, 0, 0, creator, cameos, base))
        by_int = self._by_int
        return [(key, by_int[gid]) for key, gid in out]

    def _bound(self, viewer: int, less_of: frozenset[int], wanted: int) -> float:
        """A floor under a first page's last key: the global index's first `wanted` videos
        that are neither the viewer's nor penalised have keys of at least their base, so the
        page's last key is at least the last of those bases. An index whose head, boosted,
        is below it cannot reach the page."""
        found = 0
        for score, _, creator, _ in self.ranked.descending():
            if creator != viewer and creator not in less_of:
                found += 1
                if found == wanted:
                    return float(score)
        return -math.inf

    def _latest(self, viewer: int, after: tuple[float, UUID] | None, wanted: int
                ) -> list[tuple[float, VideoState]]:
        out: list[tuple[float, VideoState]] = []
        below = (after[0], after[1].int) if after else None
        for recency, gid in self.latest.descending(below):  # lazily, from the top
            video = self._by_int[gid]
            if video.creator_key != viewer:
                out.append((recency, video))
                if len(out) == wanted:
                    break
        return out


def _heads(streams: list[tuple[SortedIndex, float]], after: tuple[float, UUID] | None,
           bound: float) -> list[tuple[Any, ...]]:
    """The heap of each index's first entry (after a cursor: the first that can follow
    it), as (-(score + lift), -id, index number, bucket, position, creator, cameos,
    score); indexes whose boosted head is below `bound` are left out."""
    heap = []
    for number, (index, lift) in enumerate(streams):
        buckets = index.buckets
        if not buckets or index.head + lift < bound:
            continue
        if after is None:
            i = len(buckets) - 1
            j = len(buckets[i]) - 1
        else:
            # Entries more than the largest penalty above the cursor can only hold videos
            # of earlier pages.
            where = index.start((after[0] + MAX_PENALTY - lift + _MARGIN, _ABOVE_ANY_ID))
            if where is None:
                continue
            i, j = where
        score, gid, creator, cameos = buckets[i][j]
        heap.append((-(score + lift), -gid, number, i, j, creator, cameos, score))
    heapify(heap)
    return heap


__all__ = ["FeedItem", "InMemoryFeedView", "PostgresFeedView"]
