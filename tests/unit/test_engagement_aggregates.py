"""Likes and feed preferences: one per member (and video), each change recorded once, with
the actor, and nothing recorded when nothing changes."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.actors import Actor, Role
from domain.errors import ValidationError
from domain.feed_preferences import FeedPreferences
from domain.ids import feed_preferences_id, like_id
from domain.like import Like

pytestmark = pytest.mark.unit


def test_a_like_is_one_stream_per_member_and_video_and_records_who_liked():
    member, video = uuid4(), uuid4()
    actor = Actor(str(member), Role.MEMBER)
    like = Like.create(actor, member, video)
    like.like(actor)
    like.like(actor)  # twice: nothing more
    events = like.collect_events()
    assert like.id == like_id(member, video) != like_id(video, member)
    assert [type(e).__name__ for e in events] == ["Created", "Liked"]
    assert (events[1].member_id, events[1].generation_id) == (member, video)
    assert (events[1].actor_id, events[1].actor_role) == (str(member), "member")


def test_unliking_then_liking_again_records_each_change():
    member = uuid4()
    actor = Actor(str(member), Role.MEMBER)
    like = Like.create(actor, member, uuid4())
    like.unlike(actor)  # never liked: nothing
    like.like(actor)
    like.unlike(actor)
    like.like(actor)
    assert [type(e).__name__ for e in like.collect_events()] == [
        "Created", "Liked", "Unliked", "Liked"]
    assert like.liked


def test_preferences_record_changes_only_and_refuse_to_sink_oneself():
    member, creator = uuid4(), uuid4()
    actor = Actor(str(member), Role.MEMBER)
    preferences = FeedPreferences.create(actor, member)
    preferences.change(actor, True, ())  # the defaults: nothing to record
    preferences.change(actor, False, (creator, creator))
    events = preferences.collect_events()
    assert preferences.id == feed_preferences_id(member)
    assert [type(e).__name__ for e in events] == ["Created", "Changed"]
    assert events[1].less_of == (creator,) and events[1].personalised is False
    with pytest.raises(ValidationError):
        preferences.change(actor, True, (member,))
