"""Trust-and-safety staff and service identities (reviewer, admin, worker)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor, Role
from domain.aggregate import ConsentryAggregate, Principal
from domain.errors import ValidationError

STAFF_ROLES = (Role.REVIEWER, Role.ADMIN, Role.WORKER)


class Staff(Principal):
    """Invariant: a staff role; the role decides which endpoints the keys open. A staff
    member who also uses the app has their member account linked, so the review queue can
    keep them off cases about their own content."""

    class Enrolled(ConsentryAggregate.Created):
        name: str
        staff_role: str

    def __init__(self, name: str, staff_role: str, **kwargs: Any) -> None:
        self._init_keys()
        self.name = name
        self.staff_role = Role(staff_role)
        self.disabled = False
        self.member_id: UUID | None = None

    @classmethod
    def enrol(cls, actor: Actor, name: str, role: Role) -> Staff:
        if role not in STAFF_ROLES:
            raise ValidationError("staff role must be reviewer, admin or worker")
        return cls._create(cls.Enrolled, id=uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), name=name, staff_role=str(role))

    class RoleChanged(ConsentryAggregate.Event):
        staff_role: str

        def apply(self, staff: Staff) -> None:
            staff.staff_role = Role(self.staff_role)

    def change_role(self, actor: Actor, role: Role) -> None:
        if role not in STAFF_ROLES:
            raise ValidationError("staff role must be reviewer, admin or worker")
        if role != self.staff_role:
            self._emit(self.RoleChanged, actor, staff_role=str(role))

    class AccountLinked(ConsentryAggregate.Event):
        member_id: UUID

        def apply(self, staff: Staff) -> None:
            staff.member_id = self.member_id

    def link_account(self, actor: Actor, member_id: UUID) -> None:
        self._require(self.member_id is None, "a member account is already linked")
        self._emit(self.AccountLinked, actor, member_id=member_id)
