"""Trust-and-safety staff and service identities (reviewer, admin, worker)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from domain.actors import Actor, Role
from domain.aggregate import ConsentryAggregate, Principal
from domain.errors import ValidationError

STAFF_ROLES = (Role.REVIEWER, Role.ADMIN, Role.WORKER)


class Staff(Principal):
    """Invariant: a staff role; the role decides which endpoints the keys open."""

    class Enrolled(ConsentryAggregate.Created):
        name: str
        staff_role: str

    def __init__(self, name: str, staff_role: str, **kwargs: Any) -> None:
        self._init_keys()
        self.name = name
        self.staff_role = Role(staff_role)
        self.disabled = False

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
