"""A webhook endpoint (Standard Webhooks): where a rights holder or a client app is told of
what happens, signed with secrets kept apart from the log (only their ids are recorded)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit
from uuid import uuid4

from domain.actors import Actor, Role
from domain.aggregate import ConsentryAggregate
from domain.errors import ValidationError

WORK_USED = "work.used"
GENERATION_TAKEN_DOWN = "generation.taken_down"
GRANT_EXPIRED = "grant.expired"
TAKEDOWN_REQUEST_ACTIONED = "takedown_request.actioned"
CAMEO_APPEARANCE = "cameo.appearance"
REVIEW_DECIDED = "review.decided"
# Who may subscribe to what: a rights holder hears about its works and grants; a client
# app (registered by an admin) about members, to notify them in its own way.
EVENT_TYPES: dict[Role, tuple[str, ...]] = {
    Role.RIGHTS_HOLDER: (WORK_USED, GENERATION_TAKEN_DOWN, GRANT_EXPIRED,
                         TAKEDOWN_REQUEST_ACTIONED),
    Role.ADMIN: (CAMEO_APPEARANCE, GENERATION_TAKEN_DOWN, REVIEW_DECIDED,
                 TAKEDOWN_REQUEST_ACTIONED),
}
MAX_URL = 2000


class WebhookSecrets(Protocol):
    """Signing secrets (`whsec_...`), kept in the key store by id, never in an event."""

    def create(self, secret_id: str) -> str: ...

    def get(self, secret_id: str) -> str | None: ...

    def destroy(self, secret_id: str) -> None: ...


def check_url(url: str) -> str:
    """The URL's shape (whether its host may be reached is the adapter's check, at
    registration and again before every attempt)."""
    if len(url) > MAX_URL:
        raise ValidationError("the URL is too long", max_length=MAX_URL)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError("the URL must be https://host/path")
    if parts.username or parts.password or parts.fragment:
        raise ValidationError("the URL may not carry credentials or a fragment")
    return url


def check_event_types(role: Role, event_types: tuple[str, ...]) -> tuple[str, ...]:
    allowed = EVENT_TYPES.get(role, ())
    wanted = tuple(dict.fromkeys(event_types))
    unknown = [t for t in wanted if t not in allowed]
    if not wanted or unknown:
        raise ValidationError("unknown or not allowed event types", event_types=unknown,
                              allowed=list(allowed))
    return wanted


class WebhookEndpoint(ConsentryAggregate):
    """Invariants: only the owner (or an admin) changes it; its secrets are the current one
    and, during a rotation's overlap, the previous ones until they expire."""

    class Registered(ConsentryAggregate.Created):
        owner_id: str
        owner_role: str
        url: str
        event_types: tuple[str, ...]
        description: str
        secret_id: str

    def __init__(self, owner_id: str, owner_role: str, url: str, event_types: tuple[str, ...],
                 description: str, secret_id: str, **kwargs: Any) -> None:
        self.owner_id = owner_id
        self.owner_role = owner_role
        self.url = url
        self.event_types = event_types
        self.description = description
        self.secret_ids: dict[str, datetime | None] = {secret_id: None}  # id -> expires
        self.enabled = True
        self.disabled_reason = ""
        self.deleted = False

    @classmethod
    def register(cls, actor: Actor, url: str, event_types: tuple[str, ...], description: str,
                 secret_id: str) -> WebhookEndpoint:
        return cls._create(cls.Registered, id=uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), owner_id=actor.id,
                           owner_role=str(actor.role), url=check_url(url),
                           event_types=check_event_types(actor.role, event_types),
                           description=description, secret_id=secret_id)

    class Updated(ConsentryAggregate.Event):
        url: str
        event_types: tuple[str, ...]
        description: str

        def apply(self, e: WebhookEndpoint) -> None:
            e.url, e.event_types, e.description = self.url, self.event_types, self.description

    class SecretRotated(ConsentryAggregate.Event):
        """The new secret signs from now on; the previous ones too until `previous_until`."""

        secret_id: str
        previous_until: datetime

        def apply(self, e: WebhookEndpoint) -> None:
            for old, expires in list(e.secret_ids.items()):
                if expires is None or expires > self.previous_until:
                    e.secret_ids[old] = self.previous_until
            e.secret_ids[self.secret_id] = None

    class Disabled(ConsentryAggregate.Event):
        reason: str

        def apply(self, e: WebhookEndpoint) -> None:
            e.enabled, e.disabled_reason = False, self.reason

    class Enabled(ConsentryAggregate.Event):
        def apply(self, e: WebhookEndpoint) -> None:
            e.enabled, e.disabled_reason = True, ""

    class Deleted(ConsentryAggregate.Event):
        def apply(self, e: WebhookEndpoint) -> None:
            e.deleted, e.enabled = True, False

    class DeliveryReplayed(ConsentryAggregate.Event):
        """Its owner asked for a delivery to be sent again (the delivery process does)."""

        delivery_id: str

    def check_owner(self, actor: Actor) -> None:
        from domain.errors import NotFoundError

        if self.deleted or (actor.role != Role.ADMIN and actor.id != self.owner_id):
            raise NotFoundError("Webhook endpoint not found", id=str(self.id))

    def update(self, actor: Actor, url: str, event_types: tuple[str, ...],
               description: str) -> None:
        self._emit(self.Updated, actor, url=check_url(url), description=description,
                   event_types=check_event_types(Role(self.owner_role), event_types))

    def rotate(self, actor: Actor, secret_id: str, previous_until: datetime) -> None:
        self._emit(self.SecretRotated, actor, secret_id=secret_id,
                   previous_until=previous_until)

    def disable(self, actor: Actor, reason: str) -> None:
        if self.enabled:
            self._emit(self.Disabled, actor, reason=reason)

    def enable(self, actor: Actor) -> None:
        if not self.enabled and not self.deleted:
            self._emit(self.Enabled, actor)

    def delete(self, actor: Actor) -> None:
        self._require(not self.deleted, "the endpoint was already deleted")
        self._emit(self.Deleted, actor)

    def replay(self, actor: Actor, delivery_id: str) -> None:
        self._emit(self.DeliveryReplayed, actor, delivery_id=delivery_id)

    def signing_secret_ids(self, now: datetime) -> tuple[str, ...]:
        return tuple(s for s, expires in self.secret_ids.items()
                     if expires is None or expires > now)

