"""An opt-in licence for one work. No grant means not allowed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import ValidationError
from domain.prompts import CATEGORIES

USES = ("generate", "remix")
AUDIENCES = ("everyone", "members", "tiers")


@dataclass(frozen=True)
class GrantTerms:
    audience: str = "everyone"
    members: tuple[UUID, ...] = ()
    tiers: tuple[str, ...] = ()
    uses: tuple[str, ...] = ("generate",)
    forbidden_categories: tuple[str, ...] = ()
    attribution_required: bool = False
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def validate(self) -> None:
        if self.audience not in AUDIENCES:
            raise ValidationError("unknown audience", allowed=list(AUDIENCES))
        if self.audience == "members" and not self.members:
            raise ValidationError("a grant to named members needs at least one member")
        if self.audience == "tiers" and not self.tiers:
            raise ValidationError("a grant to tiers needs at least one tier")
        if not self.uses or set(self.uses) - set(USES):
            raise ValidationError("uses must be a non-empty subset", allowed=list(USES))
        if set(self.forbidden_categories) - set(CATEGORIES):
            raise ValidationError("unknown content categories", allowed=list(CATEGORIES))
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError("valid_until must be after valid_from")


class Grant(ConsentryAggregate):
    """Invariants: terms are valid; nothing changes after revocation or expiry."""

    class Issued(ConsentryAggregate.Created):
        work_id: UUID
        rights_holder_id: UUID
        terms: dict[str, Any]

    def __init__(self, work_id: UUID, rights_holder_id: UUID, terms: dict[str, Any],
                 **kwargs: Any) -> None:
        self.work_id = work_id
        self.rights_holder_id = rights_holder_id
        self.terms = _terms_from(terms)
        self.revoked = False
        self.expired = False

    @classmethod
    def issue(cls, actor: Actor, work_id: UUID, rights_holder_id: UUID,
              terms: GrantTerms) -> Grant:
        terms.validate()
        return cls._create(cls.Issued, id=uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), work_id=work_id,
                           rights_holder_id=rights_holder_id, terms=_terms_to(terms))

    class Amended(ConsentryAggregate.Event):
        terms: dict[str, Any]

        def apply(self, grant: Grant) -> None:
            grant.terms = _terms_from(self.terms)

    class Revoked(ConsentryAggregate.Event):
        reason: str

        def apply(self, grant: Grant) -> None:
            grant.revoked = True

    class Expired(ConsentryAggregate.Event):
        def apply(self, grant: Grant) -> None:
            grant.expired = True

    @property
    def ended(self) -> bool:
        return self.revoked or self.expired

    def amend(self, actor: Actor, terms: GrantTerms) -> None:
        self._require(not self.ended, "a revoked or expired grant cannot be amended")
        terms.validate()
        self._emit(self.Amended, actor, terms=_terms_to(terms))

    def revoke(self, actor: Actor, reason: str = "") -> None:
        self._require(not self.ended, "grant already ended")
        self._emit(self.Revoked, actor, reason=reason)

    def expire(self, actor: Actor, now: datetime) -> None:
        self._require(not self.ended, "grant already ended")
        until = self.terms.valid_until
        self._require(until is not None and now >= until, "grant is still valid")
        self._emit(self.Expired, actor)

    def is_valid_at(self, now: datetime) -> bool:
        t = self.terms
        return (not self.ended and (t.valid_from is None or now >= t.valid_from)
                and (t.valid_until is None or now < t.valid_until))


def _terms_to(terms: GrantTerms) -> dict[str, Any]:
    return {
        "audience": terms.audience,
        "members": [str(m) for m in terms.members],
        "tiers": list(terms.tiers),
        "uses": list(terms.uses),
        "forbidden_categories": list(terms.forbidden_categories),
        "attribution_required": terms.attribution_required,
        "valid_from": terms.valid_from.isoformat() if terms.valid_from else None,
        "valid_until": terms.valid_until.isoformat() if terms.valid_until else None,
    }


def _terms_from(data: dict[str, Any]) -> GrantTerms:
    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return GrantTerms(
        audience=data["audience"],
        members=tuple(UUID(m) for m in data["members"]),
        tiers=tuple(data["tiers"]),
        uses=tuple(data["uses"]),
        forbidden_categories=tuple(data["forbidden_categories"]),
        attribution_required=bool(data["attribution_required"]),
        valid_from=when(data["valid_from"]),
        valid_until=when(data["valid_until"]),
    )
