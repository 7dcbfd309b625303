"""The hash bank's administration: entries are disabled (a wrongful removal, a source no
longer trusted) and enabled again, never deleted; and the bank is exported to, and imported
from, other platforms' banks (docs/takedowns.md)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from domain.hash_bank import BankEntry
from domain.services.access import require_role
from domain.services.review import ReviewCommands


class BankCommands(ReviewCommands):
    def set_bank_entry(self, actor: Actor, entry: UUID, enabled: bool, reason: str,
                       key: str | None = None) -> dict[str, Any]:
        require_role(actor, Role.ADMIN)

        def body() -> tuple[dict[str, Any], list[Any]]:
            found = self.get(BankEntry, entry, "bank entry")
            if enabled:
                found.enable(actor, reason)
            else:
                found.disable(actor, reason)
            return bank_entry_view(found), [found]

        return dict(self.run("set_bank_entry", actor, key,
                             {"e": entry, "on": enabled, "r": reason}, body))

    def bank_entry(self, actor: Actor, entry: UUID) -> dict[str, Any]:
        require_role(actor, Role.ADMIN, Role.REVIEWER)
        return bank_entry_view(self.get(BankEntry, entry, "bank entry"))


def bank_entry_view(entry: BankEntry) -> dict[str, Any]:
    return {"id": str(entry.id), "source": entry.source, "external_id": entry.external_id,
            "reason": entry.reason, "request": entry.request,
            "generation_id": str(entry.generation_id) if entry.generation_id else None,
            "trusted": entry.trusted, "enabled": entry.enabled,
            "banked_at": entry.banked_at.isoformat(), "hashes": len(entry.hashes),
            "history": [{"at": h["at"].isoformat(), "disabled": h["disabled"],
                         "reason": h["reason"]} for h in entry.history]}
