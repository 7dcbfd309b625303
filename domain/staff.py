"""Trust-and-safety staff and service identities (reviewer, admin, worker). A reviewer has a
grade (triage, reviewer, senior) that the queues admit; an admin is a lead and works any
queue. Each may override how evidence of a content label is first shown to them."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor, Role
from domain.aggregate import ConsentryAggregate, Principal, hash_secret
from domain.errors import ValidationError

STAFF_ROLES = (Role.REVIEWER, Role.ADMIN, Role.WORKER)
GRADES = ("triage", "reviewer", "senior")
DEFAULT_GRADE = "reviewer"


class Staff(Principal):
    """Invariant: a staff role; the role decides which endpoints the keys open. A staff
    member who also uses the app has their member account linked, so the review queue can
    keep them off cases about their own content."""

    class Enrolled(ConsentryAggregate.Created):
        name: str
        staff_role: str
        grade: str
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["grade"] = "reviewer"

    def __init__(self, name: str, staff_role: str, grade: str, **kwargs: Any) -> None:
        self._init_keys()
        self.name = name
        self.staff_role = Role(staff_role)
        self.grade = grade
        self.disabled = False
        self.member_id: UUID | None = None
        self.wellness: dict[str, tuple[bool, bool]] = {}  # label -> (blur, grayscale)
        # Console sign-ins: session id -> (secret digest, expiry); only the digest is kept.
        self.sessions: dict[str, tuple[str, datetime]] = {}

    @classmethod
    def enrol(cls, actor: Actor, name: str, role: Role, grade: str = DEFAULT_GRADE) -> Staff:
        if role not in STAFF_ROLES:
            raise ValidationError("staff role must be reviewer, admin or worker")
        _check_grade(grade)
        return cls._create(cls.Enrolled, id=uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), name=name, staff_role=str(role),
                           grade=grade)

    @property
    def lead(self) -> bool:
        return self.staff_role == Role.ADMIN

    class GradeChanged(ConsentryAggregate.Event):
        grade: str

        def apply(self, staff: Staff) -> None:
            staff.grade = self.grade

    def change_grade(self, actor: Actor, grade: str) -> None:
        _check_grade(grade)
        if grade != self.grade:
            self._emit(self.GradeChanged, actor, grade=grade)

    class WellnessOverridden(ConsentryAggregate.Event):
        """`blur`/`grayscale` None: back to the organisation's default for the label."""

        label: str
        blur: bool | None
        grayscale: bool | None

        def apply(self, staff: Staff) -> None:
            if self.blur is None or self.grayscale is None:
                staff.wellness.pop(self.label, None)
            else:
                staff.wellness[self.label] = (self.blur, self.grayscale)

    class SessionOpened(ConsentryAggregate.Event):
        """A console sign-in (with one of the staff member's keys): a session until
        `expires_at`. Sessions already expired are dropped with it."""

        session_id: str
        secret_digest: str
        expires_at: datetime

        def apply(self, staff: Staff) -> None:
            staff.sessions = {k: v for k, v in staff.sessions.items()
                              if v[1] > self.timestamp}
            staff.sessions[self.session_id] = (self.secret_digest, self.expires_at)

    class SessionClosed(ConsentryAggregate.Event):
        session_id: str

        def apply(self, staff: Staff) -> None:
            staff.sessions.pop(self.session_id, None)

    def open_session(self, actor: Actor, session_id: str, secret: str,
                     expires_at: datetime) -> None:
        self._require(not self.disabled, "this staff member is disabled")
        self._emit(self.SessionOpened, actor, session_id=session_id,
                   secret_digest=hash_secret(secret), expires_at=expires_at)

    def close_session(self, actor: Actor, session_id: str) -> None:
        if session_id in self.sessions:
            self._emit(self.SessionClosed, actor, session_id=session_id)

    def session_state(self, session_id: str, secret: str, now: datetime) -> str:
        """`live`, `expired` or `unknown` (never opened, closed, or the wrong secret)."""
        found = self.sessions.get(session_id)
        if found is None or not hmac.compare_digest(found[0], hash_secret(secret)):
            return "unknown"
        return "live" if now < found[1] else "expired"

    def override_wellness(self, actor: Actor, label: str, blur: bool | None,
                          grayscale: bool | None) -> None:
        if not label.strip():
            raise ValidationError("a content label is needed")
        self._emit(self.WellnessOverridden, actor, label=label, blur=blur,
                   grayscale=grayscale)

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


def _check_grade(grade: str) -> None:
    if grade not in GRADES:
        raise ValidationError("unknown grade", allowed=list(GRADES))
