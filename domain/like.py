"""A member's like of one video. Likes are events (the feed ranks by them); views and watch
time are not: they are high-volume and go straight to the feed's read store."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.ids import like_id


class Like(ConsentryAggregate):
    """Invariants: one per (member, generation), its id derived from the pair, so two
    concurrent first likes conflict in the event store instead of counting twice; `Liked`
    and `Unliked` alternate, so a repeated like or unlike records nothing.

    Both events carry the member and the generation, so a read model counts likes without
    remembering which aggregate belongs to which pair."""

    class Created(ConsentryAggregate.Created):
        member_id: UUID
        generation_id: UUID

    def __init__(self, member_id: UUID, generation_id: UUID, **kwargs: Any) -> None:
        self.member_id = member_id
        self.generation_id = generation_id
        self.liked = False

    @classmethod
    def create(cls, actor: Actor, member_id: UUID, generation_id: UUID) -> Like:
        return cls._create(cls.Created, id=like_id(member_id, generation_id),
                           actor_id=actor.id, actor_role=str(actor.role),
                           member_id=member_id, generation_id=generation_id)

    class Liked(ConsentryAggregate.Event):
        member_id: UUID
        generation_id: UUID

        def apply(self, like: Like) -> None:
            like.liked = True

    class Unliked(ConsentryAggregate.Event):
        member_id: UUID
        generation_id: UUID

        def apply(self, like: Like) -> None:
            like.liked = False

    def like(self, actor: Actor) -> None:
        if not self.liked:
            self._emit(self.Liked, actor, member_id=self.member_id,
                       generation_id=self.generation_id)

    def unlike(self, actor: Actor) -> None:
        if self.liked:
            self._emit(self.Unliked, actor, member_id=self.member_id,
                       generation_id=self.generation_id)
