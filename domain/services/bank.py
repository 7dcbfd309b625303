"""The hash bank's administration: entries are disabled (a wrongful removal, a source no
longer trusted) and enabled again, never deleted; and the bank is exported to, and imported
from, other platforms' banks (docs/takedowns.md)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.actors import Actor, Role
from domain.errors import ValidationError
from domain.hash_bank import (
    LOCAL_SOURCE,
    BankEntry,
    BankSource,
    check_pdq,
    entry_id,
    source_id,
)
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

    def trust_bank_source(self, actor: Actor, source: str, trusted: bool, reason: str,
                          key: str | None = None) -> dict[str, Any]:
        require_role(actor, Role.ADMIN)

        def body() -> tuple[dict[str, Any], list[Any]]:
            found = self.find(BankSource, source_id(source.strip())) \
                or BankSource.register(actor, source)
            found.set_trust(actor, trusted, reason)
            return {"source": found.name, "trusted": found.trusted}, [found]

        return dict(self.run("trust_bank_source", actor, key,
                             {"s": source, "t": trusted}, body))

    def import_bank(self, actor: Actor, source: str, signals: list[str], reason: str,
                    key: str | None = None) -> dict[str, Any]:
        """Imports PDQ signals from another platform's bank, one entry each (named by the
        source and the hash, so importing the same file again adds nothing). They act
        without review only once the source is marked trusted."""
        require_role(actor, Role.ADMIN)
        hashes = list(dict.fromkeys(check_pdq(h) for h in signals))
        if not hashes:
            raise ValidationError("no PDQ signals to import")

        def body() -> tuple[dict[str, Any], list[Any]]:
            known = self.find(BankSource, source_id(source.strip()))
            origin = known or BankSource.register(actor, source)
            now = self.clock()
            added = [BankEntry.bank(actor, (h,), origin.name, h, reason or "imported", "",
                                    None, False, now)
                     for h in hashes if self.find(BankEntry, entry_id(origin.name, h))
                     is None]
            return {"source": origin.name, "imported": len(added),
                    "already": len(hashes) - len(added), "trusted": origin.trusted}, \
                [origin, *added]

        return dict(self.run("import_bank", actor, key,
                             {"s": source, "h": hashes, "r": reason}, body))

    def export_bank(self, actor: Actor, source: str = LOCAL_SOURCE) -> list[str]:
        """The PDQ hashes of the source's enabled entries, in the order they were banked
        (the log, folded: entries are never deleted, only disabled)."""
        require_role(actor, Role.ADMIN)
        topics = [get_topic(c) for c in (BankEntry.Banked, BankEntry.Disabled,
                                         BankEntry.Enabled)]
        hashes: dict[UUID, tuple[str, ...]] = {}
        enabled: dict[UUID, bool] = {}
        for _, event in self.events_since(0, topics):
            if isinstance(event, BankEntry.Banked):
                if event.source == source:
                    hashes[event.originator_id] = event.hashes
                    enabled[event.originator_id] = True
            elif event.originator_id in enabled:
                enabled[event.originator_id] = isinstance(event, BankEntry.Enabled)
        return list(dict.fromkeys(h for entry, values in hashes.items() if enabled[entry]
                                  for h in values))

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

