"""The hash bank: PDQ hashes of the frames of content removed for a takedown (or imported
from another platform's bank), so that the same content cannot be published again by anyone
(rule STAYDOWN). One `BankEntry` per removed video: its frame hashes, why, for which
request, from which source. Entries are disabled and enabled again, never deleted: the log
keeps why every entry existed. docs/takedowns.md describes the exchange with HMA."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid5

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import ValidationError
from domain.faces import MatchDecision

LOCAL_SOURCE = "local"
_NAMESPACE = UUID("a1c4e1f2-6b7d-4d8e-9f0a-1b2c3d4e5f60")
_HEX = frozenset("0123456789abcdef")


def entry_id(source: str, external_id: str) -> UUID:
    """An entry's identity: its source and what the source calls it (here, the removed
    generation's id), so that banking or importing the same thing twice is one entry."""
    return uuid5(_NAMESPACE, f"{source}:{external_id}")


def check_pdq(value: str) -> str:
    value = value.strip().lower()
    if len(value) != 64 or not set(value) <= _HEX:
        raise ValidationError("a PDQ hash is 64 hexadecimal characters", value=value[:80])
    return value


class BankEntry(ConsentryAggregate):
    """Invariants: at least one well-formed PDQ hash; only a trusted entry acts without a
    person (an imported one is trusted only when its source is); never deleted."""

    class Banked(ConsentryAggregate.Created):
        """`external_id`: the removed generation's id for a local entry, the source's own
        id for an imported one; `reason`: the policy code or the source's label."""

        hashes: tuple[str, ...]
        source: str
        external_id: str
        reason: str
        request: str
        generation_id: UUID | None
        trusted: bool
        banked_at: datetime

    def __init__(self, hashes: tuple[str, ...], source: str, external_id: str, reason: str,
                 request: str, generation_id: UUID | None, trusted: bool,
                 banked_at: datetime, **kwargs: Any) -> None:
        self.hashes = hashes
        self.source = source
        self.external_id = external_id
        self.reason = reason
        self.request = request
        self.generation_id = generation_id
        self.trusted = trusted
        self.banked_at = banked_at
        self.enabled = True
        self.history: list[dict[str, Any]] = []

    @classmethod
    def bank(cls, actor: Actor, hashes: Sequence[str], source: str, external_id: str,
             reason: str, request: str, generation_id: UUID | None, trusted: bool,
             now: datetime) -> BankEntry:
        clean = tuple(dict.fromkeys(check_pdq(h) for h in hashes))
        if not clean:
            raise ValidationError("a bank entry needs at least one PDQ hash")
        if not source.strip():
            raise ValidationError("a bank entry names its source")
        return cls._create(cls.Banked, id=entry_id(source, external_id), actor_id=actor.id,
                           actor_role=str(actor.role), hashes=clean, source=source,
                           external_id=external_id, reason=reason[:200], request=request,
                           generation_id=generation_id, trusted=trusted, banked_at=now)

    class Disabled(ConsentryAggregate.Event):
        reason: str

        def apply(self, e: BankEntry) -> None:
            e.enabled = False
            e.history.append({"at": self.timestamp, "disabled": True, "reason": self.reason})

    class Enabled(ConsentryAggregate.Event):
        reason: str

        def apply(self, e: BankEntry) -> None:
            e.enabled = True
            e.history.append({"at": self.timestamp, "disabled": False, "reason": self.reason})

    def disable(self, actor: Actor, reason: str) -> None:
        self._require(self.enabled, "the entry is already disabled")
        if not reason.strip():
            raise ValidationError("say why the entry is disabled")
        self._emit(self.Disabled, actor, reason=reason.strip()[:500])

    def enable(self, actor: Actor, reason: str) -> None:
        self._require(not self.enabled, "the entry is enabled")
        self._emit(self.Enabled, actor, reason=reason.strip()[:500])


def source_id(source: str) -> UUID:
    return uuid5(_NAMESPACE, f"source:{source}")


class BankSource(ConsentryAggregate):
    """Another platform's bank whose signals were imported. Its entries act without a
    person only while the operator marks it trusted (local entries always act)."""

    class Registered(ConsentryAggregate.Created):
        name: str

    def __init__(self, name: str, **kwargs: Any) -> None:
        self.name = name
        self.trusted = False

    @classmethod
    def register(cls, actor: Actor, name: str) -> BankSource:
        name = name.strip()
        if not name or name == LOCAL_SOURCE or len(name) > 100:
            raise ValidationError("a source is named (1-100 characters, not `local`)")
        return cls._create(cls.Registered, id=source_id(name), actor_id=actor.id,
                           actor_role=str(actor.role), name=name)

    class TrustSet(ConsentryAggregate.Event):
        trusted: bool
        reason: str

        def apply(self, s: BankSource) -> None:
            s.trusted = self.trusted

    def set_trust(self, actor: Actor, trusted: bool, reason: str) -> None:
        if trusted != self.trusted:
            self._emit(self.TrustSet, actor, trusted=trusted, reason=reason[:500])


@dataclass(frozen=True)
class HashMatch:
    """One entry (a bank entry, or a published generation) whose frames came within the
    review distance of a clip's frames, judged the vPDQ way (`FrameVotePolicy`)."""

    key: UUID
    decision: MatchDecision
    frames_matched: int
    frames_near: int
    distance: int  # the best frame's Hamming distance out of 256


class FrameHashIndex(Protocol):
    """PDQ frame hashes searched by Hamming distance; an index that follows the log and
    catches up before every search (docs/followers.md)."""

    def matches(self, frame_hashes: Sequence[str]) -> list[HashMatch]:
        """Matches of a clip given as its usable frames' hashes, in frame order."""
        ...

    def showing(self, hashes: Sequence[str]) -> list[HashMatch]:
        """The other way round: entries whose own frames show one of `hashes` (a protected
        work's reference), judged over each entry's frames."""
        ...
