"""Contract of the feed read model, run on the in-memory and PostgreSQL views: what may appear,
how it ranks, and how pages follow each other; then both views fed the same random world
must serve the same pages."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from domain.actors import Actor, Role
from domain.feed_preferences import FeedPreferences
from domain.generation import Generation
from domain.like import Like
from domain.member import Member
from projections.feed import InMemoryFeedView, PostgresFeedView
from tests.views import STORES, open_view

SYSTEM = Actor("system", Role.SYSTEM)
WORKER = Actor("w", Role.WORKER)
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=4)


@pytest.fixture(params=STORES)
async def view(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    async with open_view(request, InMemoryFeedView, PostgresFeedView) as opened:
        yield opened


class World:
    """Builds members, follows and videos as aggregates and feeds their events to views."""

    def __init__(self, *views: Any) -> None:
        self.views = views
        self.position = 0

    async def apply(self, *aggregates: Any) -> None:
        batch = []
        for aggregate in aggregates:
            for event in aggregate.collect_events():
                self.position += 1
                batch.append((self.position, event))
        for view in self.views:
            await view.apply(batch)

    async def members(self, *handles: str) -> list[Member]:
        people = [Member.register(SYSTEM, h) for h in handles]
        await self.apply(*people)
        return people

    async def follow(self, follower: Member, *others: Member) -> None:
        for other in others:
            follower.follow(Actor(str(follower.id), Role.MEMBER), other.id)
        await self.apply(follower)

    async def video(self, creator: Member, at: datetime = T0, cameos: tuple[Member, ...] = (),
                    publish: bool = True, remix_of: Generation | None = None) -> Generation:
        actor = Actor(str(creator.id), Role.MEMBER)
        g = Generation.request(actor, creator.id, "a scene", tuple(c.id for c in cameos), 5,
                               remix_of=remix_of.id if remix_of else None)
        g.decide(actor, "allow", (), (), (), {})
        g.record_render(WORKER, "a" * 64, 10, 1.0, "w", 1)
        g.record_scan(WORKER, {})
        g.record_watermark(WORKER, "beef", "m", "p" * 64)
        if publish:
            g.trigger_event(Generation.Published, actor_id=WORKER.id,
                            actor_role=str(WORKER.role), timestamp=at)
        await self.apply(g)
        return g

    async def like(self, generation: Generation, *likers: Member) -> list[Like]:
        likes = []
        for liker in likers:
            like = Like.create(Actor(str(liker.id), Role.MEMBER), liker.id, generation.id)
            like.like(Actor(str(liker.id), Role.MEMBER))
            likes.append(like)
        await self.apply(*likes)
        return likes

    async def prefer(self, member: Member, personalised: bool = True,
                     less_of: tuple[Member, ...] = ()) -> None:
        actor = Actor(str(member.id), Role.MEMBER)
        preferences = FeedPreferences.create(actor, member.id)
        preferences.change(actor, personalised, tuple(m.id for m in less_of))
        await self.apply(preferences)


async def ids_in_feed(view: Any, viewer: Member, limit: int = 50) -> list[UUID]:
    items, _ = await view.feed(viewer.id, limit=limit, now=NOW)
    return [i.generation_id for i in items]


async def test_only_published_videos_still_up_and_unrestricted_appear(view: Any):
    world = World(view)
    viewer, maker = await world.members("viewer", "maker")
    shown = await world.video(maker)
    unpublished = await world.video(maker, publish=False)
    taken_down = await world.video(maker)
    taken_down.take_down(SYSTEM, {"kind": "cameo_disabled"})
    deleted = await world.video(maker)
    deleted.delete(Actor(str(maker.id), Role.MEMBER), "author")
    restricted = await world.video(maker)
    restricted.restrict(WORKER, uuid4(), "SENSITIVE")
    restored = await world.video(maker)
    restored.take_down(SYSTEM, {"kind": "review"})
    restored.restore(WORKER, uuid4())
    await world.apply(taken_down, deleted, restricted, restored)

    assert set(await ids_in_feed(view, viewer)) == {shown.id, restored.id}
    assert unpublished.id not in await ids_in_feed(view, viewer)


async def test_nobody_sees_their_own_videos_in_their_feed(view: Any):
    world = World(view)
    me, other = await world.members("me", "other")
    await world.video(me)
    theirs = await world.video(other)
    assert await ids_in_feed(view, me) == [theirs.id]


async def test_follows_and_friends_featured_rank_above_a_newer_strangers_video(view: Any):
    world = World(view)
    viewer, followed, mutual, stranger = await world.members("viewer", "followed", "mutual",
                                                             "stranger")
    await world.follow(viewer, followed, mutual)
    await world.follow(mutual, viewer)
    newest = await world.video(stranger, at=T0 + timedelta(hours=3))
    by_followed = await world.video(followed)
    featuring_mutual = await world.video(stranger, cameos=(mutual,))
    by_mutual = await world.video(mutual)

    items, _ = await view.feed(viewer.id, now=NOW)

    assert [i.generation_id for i in items] == [by_mutual.id, by_followed.id,
                                                featuring_mutual.id, newest.id]
    assert [i.reasons[0] for i in items] == ["mutual_creator", "followed_creator",
                                             "features_mutual", "recent"]
    assert all("recent" in i.reasons for i in items)
    assert items[0].creator_handle == "mutual"
    assert items[0].score > items[1].score > items[2].score > items[3].score


async def test_a_video_featuring_the_viewer_ranks_with_their_closest_connections(view: Any):
    world = World(view)
    viewer, friend, stranger = await world.members("viewer", "friend", "stranger")
    await world.follow(viewer, friend)
    plain = await world.video(stranger, at=T0 + timedelta(hours=2))
    with_me = await world.video(stranger, cameos=(viewer,))
    by_friend = await world.video(friend)
    items, _ = await view.feed(viewer.id, now=NOW)
    assert [i.generation_id for i in items] == [with_me.id, by_friend.id, plain.id]
    assert items[0].reasons[0] == "features_you"


async def test_likes_move_a_video_above_an_equally_recent_one(view: Any):
    world = World(view)
    viewer, a, b, *fans = await world.members("viewer", "maker_a", "maker_b", "f1", "f2",
                                               "f3", "f4")
    first = await world.video(a, at=T0 + timedelta(minutes=1))
    second = await world.video(b)
    assert await ids_in_feed(view, viewer) == [first.id, second.id]

    likes = await world.like(second, *fans)
    items, _ = await view.feed(viewer.id, now=NOW)
    assert [i.generation_id for i in items] == [second.id, first.id]
    assert items[0].likes == 4 and "popular" in items[0].reasons
    assert "popular" not in items[1].reasons

    for like, fan in zip(likes, fans, strict=True):
        like.unlike(Actor(str(fan.id), Role.MEMBER))
    await world.apply(*likes)
    assert await ids_in_feed(view, viewer) == [first.id, second.id]


async def test_completed_views_count_and_views_of_videos_off_the_feed_are_refused(view: Any):
    world = World(view)
    viewer, a, b = await world.members("viewer", "maker_a", "maker_b")
    first = await world.video(a, at=T0 + timedelta(minutes=1))
    second = await world.video(b)
    hidden = await world.video(b, publish=False)
    for _ in range(5):
        assert await view.record_view(second.id, viewer.id, 5.0, True)
    assert await ids_in_feed(view, viewer) == [second.id, first.id]
    assert not await view.record_view(hidden.id, viewer.id, 5.0, True)
    assert not await view.record_view(uuid4(), viewer.id, 5.0, True)


async def test_a_retried_view_with_the_same_idempotency_key_counts_once(view: Any):
    world = World(view)
    viewer, other, a, b = await world.members("viewer", "other", "maker_a", "maker_b")
    first = await world.video(a)
    second = await world.video(b, at=T0 - timedelta(hours=10))  # one view will not do
    for _ in range(5):
        assert await view.record_view(second.id, viewer.id, 5.0, True, key="view-1")
    assert await ids_in_feed(view, other) == [first.id, second.id]
    for n in range(5):
        assert await view.record_view(second.id, viewer.id, 5.0, True, key=f"view-{n + 2}")
    assert await ids_in_feed(view, other) == [second.id, first.id]


async def test_a_creators_own_views_do_not_count(view: Any):
    world = World(view)
    viewer, a, b = await world.members("viewer", "maker_a", "maker_b")
    first = await world.video(a, at=T0 + timedelta(minutes=1))
    second = await world.video(b)
    for _ in range(5):
        assert await view.record_view(second.id, b.id, 5.0, True)
    assert await ids_in_feed(view, viewer) == [first.id, second.id]


async def test_a_published_remix_counts_for_its_source(view: Any):
    world = World(view)
    viewer, a, b, c = await world.members("viewer", "maker_a", "maker_b", "maker_c")
    first = await world.video(a, at=T0 + timedelta(minutes=1))
    source = await world.video(b)
    for _ in range(3):
        await world.video(c, at=T0 - timedelta(days=30), remix_of=source)
    assert (await ids_in_feed(view, viewer))[:2] == [source.id, first.id]


async def test_less_of_a_creator_sinks_their_videos_below_strangers(view: Any):
    world = World(view)
    viewer, tiresome, stranger = await world.members("viewer", "tiresome", "stranger")
    await world.follow(viewer, tiresome)
    tiresome_video = await world.video(tiresome, at=T0 + timedelta(hours=3))
    older = await world.video(stranger)
    assert await ids_in_feed(view, viewer) == [tiresome_video.id, older.id]
    await world.prefer(viewer, less_of=(tiresome,))
    assert await ids_in_feed(view, viewer) == [older.id, tiresome_video.id]


async def test_with_personalisation_off_the_feed_is_newest_first(view: Any):
    world = World(view)
    viewer, followed, stranger, *fans = await world.members("viewer", "followed",
                                                            "stranger", "f1", "f2")
    await world.follow(viewer, followed)
    old = await world.video(followed)
    new = await world.video(stranger, at=T0 + timedelta(hours=1))
    popular_old = await world.video(stranger, at=T0 - timedelta(hours=1))
    await world.like(popular_old, *fans)
    await world.prefer(viewer, personalised=False)
    items, _ = await view.feed(viewer.id, now=NOW)
    assert [i.generation_id for i in items] == [new.id, old.id, popular_old.id]
    assert {i.reasons for i in items} == {("personalisation_off",)}


async def test_unfollowing_removes_the_boost(view: Any):
    world = World(view)
    viewer, creator, stranger = await world.members("viewer", "creator", "stranger")
    await world.follow(viewer, creator)
    theirs = await world.video(creator)
    newer = await world.video(stranger, at=T0 + timedelta(hours=1))
    assert await ids_in_feed(view, viewer) == [theirs.id, newer.id]
    viewer.unfollow(Actor(str(viewer.id), Role.MEMBER), creator.id)
    await world.apply(viewer)
    assert await ids_in_feed(view, viewer) == [newer.id, theirs.id]


async def test_pages_follow_each_other_without_gaps_or_repeats(view: Any):
    world = World(view)
    viewer, friend, tiresome, *others = await world.members(
        "viewer", "friend", "tiresome", *(f"maker_{i}" for i in range(5)))
    await world.follow(viewer, friend, tiresome)
    await world.prefer(viewer, less_of=(tiresome,))
    for i in range(24):
        creator = [friend, tiresome, *others][i % 7]
        cameos = (friend,) if i % 5 == 0 and creator is not friend else ()
        await world.video(creator, at=T0 - timedelta(hours=i * 3 % 17), cameos=cameos)
    whole, end = await view.feed(viewer.id, limit=100, now=NOW)
    assert len(whole) == 24 and end is None

    paged, cursor = [], None
    while True:
        items, cursor = await view.feed(viewer.id, cursor=cursor, limit=5, now=NOW)
        paged += items
        if cursor is None:
            break
    assert [i.generation_id for i in paged] == [i.generation_id for i in whole]


async def test_a_malformed_cursor_is_refused(view: Any):
    from projections.base import InvalidCursorError

    with pytest.raises(InvalidCursorError):
        await view.feed(uuid4(), cursor="bm90IGpzb24=", now=NOW)


@pytest.mark.integration
async def test_both_views_serve_the_same_pages_for_a_random_world(pg_schema: Any):
    dsn, schema = pg_schema
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    pg = PostgresFeedView(pool, schema)
    await pg.create()
    memory = InMemoryFeedView()
    world = World(memory, pg)
    rng = random.Random(3)
    people = await world.members(*(f"person_{i}" for i in range(12)))
    for person in people:
        await world.follow(person, *rng.sample([p for p in people if p is not person], 4))
    videos = []
    for i in range(60):
        cameos = tuple(rng.sample(people, rng.choice([0, 0, 1, 2])))
        videos.append(await world.video(rng.choice(people), cameos=cameos,
                                        at=T0 - timedelta(minutes=rng.randrange(0, 3000))))
        if i % 4 == 0:
            await world.like(videos[-1], *rng.sample(people, rng.randrange(1, 6)))
    for g in rng.sample(videos, 6):
        g.take_down(SYSTEM, {"kind": "test"})
        await world.apply(g)
    for g in rng.sample(videos, 20):
        completed = rng.random() < 0.5
        for v in (memory, pg):
            await v.record_view(g.id, people[0].id, 3.0, completed)
    await world.prefer(people[1], less_of=(people[2], people[3]))
    await world.prefer(people[2], personalised=False)

    for viewer in people[:4]:
        cursors: list[str | None] = [None, None]
        while True:
            pages = [await v.feed(viewer.id, cursor=c, limit=7, now=NOW)
                     for v, c in zip((memory, pg), cursors, strict=True)]
            assert pages[0][0] == pages[1][0]
            cursors = [pages[0][1], pages[1][1]]
            if cursors[0] is None:
                assert cursors[1] is None
                break
    await pool.close()
