"""A member's report about a published video; it opens a review case or joins the open one."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import ValidationError
from domain.prompts import CATEGORIES

REPORT_CATEGORIES = (*CATEGORIES, "likeness", "copyright", "spam", "other")


class Report(ConsentryAggregate):
    """Invariant: a known category; the case it went to is recorded with it."""

    class Filed(ConsentryAggregate.Created):
        reporter_id: UUID
        generation_id: UUID
        category: str
        text: str
        case_id: UUID

    def __init__(self, reporter_id: UUID, generation_id: UUID, category: str, text: str,
                 case_id: UUID, **kwargs: Any) -> None:
        self.reporter_id = reporter_id
        self.generation_id = generation_id
        self.category = category
        self.text = text
        self.case_id = case_id

    @classmethod
    def file(cls, actor: Actor, reporter_id: UUID, generation_id: UUID, category: str,
             text: str, case_id: UUID) -> Report:
        if category not in REPORT_CATEGORIES:
            raise ValidationError("unknown report category", allowed=list(REPORT_CATEGORIES))
        return cls._create(cls.Filed, id=uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), reporter_id=reporter_id,
                           generation_id=generation_id, category=category, text=text[:4000],
                           case_id=case_id)
