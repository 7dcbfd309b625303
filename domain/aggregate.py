"""Base classes for every aggregate: each event records the actor (id and role) besides the
timestamp the library adds; principals (members, rights holders, staff) hold hashed keys."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.errors import InvalidTransitionError, NotFoundError


class ConsentryAggregate(Aggregate):
    """Every event carries who caused it, so the audit log needs no other source.

    Copying: the repository hands each command a copy of a cached aggregate. Our `apply`
    methods never mutate a nested container in place (they add to a set or list, or
    replace a value), so copying one level deep is a full copy, at a tenth of the cost of
    the generic deepcopy."""

    def __deepcopy__(self, memo: dict[int, Any]) -> ConsentryAggregate:
        clone = object.__new__(type(self))
        clone.__dict__.update({
            k: v.copy() if isinstance(v, set | dict | list) else v
            for k, v in self.__dict__.items()})
        return clone

    class Event(Aggregate.Event):
        actor_id: str
        actor_role: str

    class Created(Event, Aggregate.Created):
        pass

    def _emit(self, event_class: type[Aggregate.Event], actor: Actor, **kwargs: Any) -> None:
        self.trigger_event(event_class, actor_id=actor.id, actor_role=str(actor.role), **kwargs)

    def _require(self, condition: bool, detail: str) -> None:
        if not condition:
            raise InvalidTransitionError(detail, aggregate=type(self).__name__, id=str(self.id))


def hash_secret(secret: str) -> str:
    # Keys are 256-bit random secrets: a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(secret.encode()).hexdigest()


class Principal(ConsentryAggregate):
    """An aggregate that can hold API keys. Only SHA-256 digests of the secrets are stored."""

    def _init_keys(self) -> None:
        # Not __init__: the library derives creation events from __init__ signatures.
        self.keys: dict[str, str] = {}  # key_id -> secret digest (active keys only)
        self.key_labels: dict[str, str] = {}

    class KeyIssued(ConsentryAggregate.Event):
        key_id: str
        secret_digest: str
        label: str

        def apply(self, aggregate: Principal) -> None:
            aggregate.keys[self.key_id] = self.secret_digest
            aggregate.key_labels[self.key_id] = self.label

    class KeyRevoked(ConsentryAggregate.Event):
        key_id: str

        def apply(self, aggregate: Principal) -> None:
            aggregate.keys.pop(self.key_id, None)
            aggregate.key_labels.pop(self.key_id, None)

    def issue_key(self, actor: Actor, key_id: str, secret: str, label: str) -> None:
        self._require(key_id not in self.keys, "key id already in use")
        self._emit(self.KeyIssued, actor, key_id=key_id, secret_digest=hash_secret(secret),
                   label=label)

    def revoke_key(self, actor: Actor, key_id: str) -> None:
        if key_id not in self.keys:
            raise NotFoundError("no such active key", key_id=key_id)
        self._emit(self.KeyRevoked, actor, key_id=key_id)

    def accepts(self, key_id: str, secret: str) -> bool:
        digest = self.keys.get(key_id)
        return digest is not None and hmac.compare_digest(digest, hash_secret(secret))

    @property
    def active(self) -> bool:
        return True
