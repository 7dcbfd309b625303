"""Who causes an event: every command takes an `Actor`, and every event records it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    MEMBER = "member"
    RIGHTS_HOLDER = "rights_holder"
    REVIEWER = "reviewer"
    ADMIN = "admin"
    WORKER = "worker"
    SYSTEM = "system"  # the process itself: expiry sweeps, revocation takedowns
    PUBLIC = "public"  # anyone without an account: a takedown request's filer


@dataclass(frozen=True)
class Actor:
    """`suspended`: a suspended member, who may still withdraw consent, erase their
    biometrics and close their account, and nothing else (the API's routes check it)."""

    id: str
    role: Role
    suspended: bool = field(default=False, compare=False)

    def is_staff(self) -> bool:
        return self.role in (Role.REVIEWER, Role.ADMIN)


SYSTEM = Actor("system", Role.SYSTEM)
