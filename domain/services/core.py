"""The application core: typed loading, atomic saves through group commit, idempotency keys,
and the translation of store conflicts into domain errors."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.actors import Actor
from domain.errors import (
    ConflictError,
    DomainError,
    IdempotencyKeyReusedError,
    NotFoundError,
)
from domain.idempotency import IdempotencyRecord
from domain.ids import idempotency_id
from domain.services.committer import GroupCommitter

A = TypeVar("A", bound=Aggregate)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class SecretSealer(Protocol):
    """Keeps a newly issued secret recoverable for a short while (a retry of the command
    whose response was lost gets it again); after that, `open` answers None."""

    def seal(self, secret: str) -> str: ...

    def open(self, token: str) -> str | None: ...

    def sweep(self) -> None:
        """Destroys what is past the replay window."""
        ...


class CoreApplication(Application):
    """Commands run as: load aggregates → call their methods → save everything they changed
    in one transaction. A stale version anywhere fails the whole command (ConflictError)."""

    name = "Consentry"

    def __init__(self, env: dict[str, str] | None = None, clock: Clock = utc_now) -> None:
        super().__init__(env)
        self.clock = clock
        self.committer = GroupCommitter(self.events.put)
        self._positions = threading.local()
        # Set by the composition root; None: a replayed command's secret stays redacted.
        self.secrets: SecretSealer | None = None
        # Told of every committed batch of events (metrics, traces); set by the composition
        # root. It must not raise: the events are already saved.
        self.on_commit: Callable[[Sequence[Any]], None] | None = None

    # -- loading -----------------------------------------------------------------------
    def get(self, cls: type[A], aggregate_id: UUID, what: str | None = None) -> A:
        try:
            aggregate = self.repository.get(aggregate_id, projector_func=_project)
        except AggregateNotFoundError:
            raise NotFoundError(f"{what or cls.__name__} not found", id=str(aggregate_id)) \
                from None
        if not isinstance(aggregate, cls):
            raise NotFoundError(f"{what or cls.__name__} not found", id=str(aggregate_id))
        return aggregate

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        try:
            return self.get(cls, aggregate_id)
        except NotFoundError:
            return None

    # -- saving ------------------------------------------------------------------------
    def commit(self, *aggregates: Aggregate | None) -> int:
        """Saves in one transaction; returns the log position of the last event written
        (also kept per thread, see `last_position`), or 0 if nothing changed."""
        saved = [a for a in aggregates if a is not None]
        events = [e for a in saved for e in a.collect_events()]
        if not events:
            return 0
        cache = self.repository.cache
        try:
            position = self.committer.commit(events)
        except IntegrityError as error:
            if cache is not None:  # whoever won may be another process: reload next time
                for aggregate in saved:
                    with contextlib.suppress(KeyError):
                        cache.get(aggregate.id, evict=True)
            raise ConflictError("the record changed while this command ran; retry it") \
                from error
        if cache is not None and not self.repository.fastforward:
            # Without fast-forwarding the cache is the truth for reads, so it takes the new
            # versions before the command returns (the library's own save() does the same).
            for aggregate in saved:
                cache.put(aggregate.id, aggregate)
        self._positions.last = position
        if self.on_commit is not None:
            self.on_commit(events)
        return position

    def events_since(self, position: int, topics: Sequence[str], batch: int = 1000
                     ) -> Iterator[tuple[int, Any]]:
        """(log position, event) for the events of `topics` recorded after `position`, read
        in bulk: how the indexes that follow the log (aliases, faces, references) catch up."""
        while True:
            notes = self.recorder.select_notifications(position + 1, batch, topics=topics)
            for note in notes:
                position = note.id
                yield note.id, self.mapper.to_domain_event(note)
            if len(notes) < batch:
                return

    def last_position(self) -> int:
        """The log position of the last events this thread saved: read models that have
        reached it reflect the command (read-your-writes)."""
        return int(getattr(self._positions, "last", 0))

    def run(self, command: str, actor: Actor, key: str | None, args: dict[str, Any],
            body: Callable[[], tuple[Any, Sequence[Aggregate | None]]]) -> Any:
        """Runs `body` (which returns its result and the aggregates to save) at most once
        per idempotency key. A retry with the same key returns the first result; the same
        key with different arguments is an error, never a silent replay."""
        self._positions.last = 0
        if key is None:
            result, aggregates = body()
            self.commit(*aggregates)
            return result
        record_id = idempotency_id(f"{actor.role}:{actor.id}", key)
        fingerprint = _fingerprint(command, args)
        previous = self.find(IdempotencyRecord, record_id)
        if previous is not None:
            return self._replay(previous, command, fingerprint)
        try:
            result, aggregates = body()
        except DomainError:
            # A concurrent retry with this key may have won meanwhile, changing what the
            # body read (e.g. a count it limits): its result is the answer.
            winner = self.find(IdempotencyRecord, record_id)
            if winner is None:
                raise
            return self._replay(winner, command, fingerprint)
        record = IdempotencyRecord.record(actor, record_id, command, fingerprint,
                                          self._storable(result))
        try:
            self.commit(*aggregates, record)
        except ConflictError:
            winner = self.find(IdempotencyRecord, record_id)
            if winner is None:
                raise
            return self._replay(winner, command, fingerprint)
        return result

    def _storable(self, result: Any) -> Any:
        """Secrets never enter the event store in the clear: a result holding one keeps it
        sealed for a retry within the replay window (see `secrets`), else redacted."""
        if isinstance(result, dict) and "secret" in result:
            sealed = self.secrets.seal(result["secret"]) \
                if self.secrets is not None and result["secret"] else None
            return {**result, "secret": None, "secret_redacted": True,
                    "secret_sealed": sealed}
        return result

    def _replay(self, record: IdempotencyRecord, command: str, fingerprint: str) -> Any:
        if record.command != command or record.fingerprint != fingerprint:
            raise IdempotencyKeyReusedError(
                "this idempotency key was already used for a different request")
        result = record.result
        if not isinstance(result, dict) or "secret_sealed" not in result:
            return result
        sealed = result["secret_sealed"]
        result = {k: v for k, v in result.items() if k != "secret_sealed"}
        secret = self.secrets.open(sealed) if sealed and self.secrets is not None else None
        if secret is not None:  # within the replay window: the same secret again
            result.update(secret=secret, secret_redacted=False)
        return result


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    # The library's projector asserts a runtime-checkable Protocol on every event, which
    # costs more than applying the event; our events are all library aggregate events.
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def _fingerprint(command: str, args: dict[str, Any]) -> str:
    text = json.dumps([command, args], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
