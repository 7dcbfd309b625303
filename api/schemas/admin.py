"""Admin endpoints: staff, keys of any principal, member suspension, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from projections.audit import AuditEntry

StaffRole = Literal["reviewer", "admin", "worker"]
Grade = Literal["triage", "reviewer", "senior"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class StaffIn(msgspec.Struct, forbid_unknown_fields=True):
    """`member_id`: the person's own app account, if they have one; they are never given
    cases about its content."""

    name: Name
    role: StaffRole
    member_id: UUID | None = None
    grade: Grade = "reviewer"  # the queues a reviewer works (admins work all)


class RoleIn(msgspec.Struct, forbid_unknown_fields=True):
    role: StaffRole


class GradeIn(msgspec.Struct, forbid_unknown_fields=True):
    grade: Grade


class KeyIn(msgspec.Struct, forbid_unknown_fields=True):
    label: Name = "issued by an admin"


class KeyOut(msgspec.Struct):
    """A new key, shown once. Only its digest is stored."""

    key_id: str
    secret: str | None
    secret_redacted: bool = False


class SuspendIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class AuditEntryOut(msgspec.Struct):
    """One event: who did what to which aggregate, when. Secrets never appear in
    `summary`."""

    position: int
    aggregate_id: str
    aggregate_type: str
    version: int
    event: str
    actor_id: str
    actor_role: str
    at: datetime
    summary: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(position=entry.position, aggregate_id=str(entry.aggregate_id),
                   aggregate_type=entry.aggregate_type, version=entry.version,
                   event=entry.event, actor_id=entry.actor_id, actor_role=entry.actor_role,
                   at=entry.at, summary=dict(entry.summary))


class AuditPage(msgspec.Struct):
    items: list[AuditEntryOut]
    next_cursor: str | None
