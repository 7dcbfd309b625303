"""How a member wants their feed ranked: personalisation on or off (a wellbeing setting,
SPEC section 7) and the creators they asked to see less of."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import ValidationError
from domain.ids import feed_preferences_id

MAX_LESS_OF = 500


class FeedPreferences(ConsentryAggregate):
    """Invariants: one per member (id derived from the member); the "less of" list is a
    bounded set of other members. Events, not read-store rows, because a setting such as
    personalisation off must survive a rebuild of the read models."""

    class Created(ConsentryAggregate.Created):
        member_id: UUID

    def __init__(self, member_id: UUID, **kwargs: Any) -> None:
        self.member_id = member_id
        self.personalised = True
        self.less_of: tuple[UUID, ...] = ()

    @classmethod
    def create(cls, actor: Actor, member_id: UUID) -> FeedPreferences:
        return cls._create(cls.Created, id=feed_preferences_id(member_id), actor_id=actor.id,
                           actor_role=str(actor.role), member_id=member_id)

    class Changed(ConsentryAggregate.Event):
        member_id: UUID
        personalised: bool
        less_of: tuple[UUID, ...]

        def apply(self, preferences: FeedPreferences) -> None:
            preferences.personalised = self.personalised
            preferences.less_of = self.less_of

    def change(self, actor: Actor, personalised: bool, less_of: tuple[UUID, ...]) -> None:
        creators = tuple(dict.fromkeys(less_of))
        if len(creators) > MAX_LESS_OF:
            raise ValidationError(f"at most {MAX_LESS_OF} creators in the less-of list")
        if self.member_id in creators:
            raise ValidationError("you cannot ask to see less of yourself")
        if (personalised, creators) != (self.personalised, self.less_of):
            self._emit(self.Changed, actor, member_id=self.member_id,
                       personalised=personalised, less_of=creators)
