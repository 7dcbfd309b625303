"""Webhook endpoints' commands: register (the secret is shown once), change, rotate the
secret with an overlap, disable, enable, delete, and replay a delivery. Deliveries
themselves are made from the log by the delivery process (adapters/webhook_delivery.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.actors import SYSTEM, Actor, Role
from domain.errors import ValidationError
from domain.services.access import require_role
from domain.services.core import CoreApplication
from domain.webhook import WebhookEndpoint, WebhookSecrets

MAX_OVERLAP = timedelta(days=7)


class WebhookCommands(CoreApplication):
    webhook_secrets: WebhookSecrets | None = None  # set by the composition root

    def _new_secret(self) -> tuple[str, str]:
        if self.webhook_secrets is None:
            raise RuntimeError("no webhook secret store is configured")
        secret_id = uuid.uuid4().hex
        return secret_id, self.webhook_secrets.create(secret_id)

    def endpoint(self, actor: Actor, endpoint_id: UUID) -> WebhookEndpoint:
        endpoint = self.get(WebhookEndpoint, endpoint_id, "Webhook endpoint")
        endpoint.check_owner(actor)
        return endpoint

    def register_webhook_endpoint(self, actor: Actor, url: str, event_types: tuple[str, ...],
                                  description: str = "", key: str | None = None
                                  ) -> dict[str, Any]:
        """Rights holders for their works and grants; admins for a client app."""
        require_role(actor, Role.RIGHTS_HOLDER, Role.ADMIN)

        def body() -> tuple[dict[str, Any], list[Any]]:
            secret_id, secret = self._new_secret()
            endpoint = WebhookEndpoint.register(actor, url, tuple(event_types), description,
                                                secret_id)
            return {"endpoint_id": str(endpoint.id), "secret": secret}, [endpoint]

        return self.run("register_webhook_endpoint", actor, key,
                        {"u": url, "t": list(event_types), "d": description}, body)

    def update_webhook_endpoint(self, actor: Actor, endpoint_id: UUID, url: str,
                                event_types: tuple[str, ...], description: str = "",
                                key: str | None = None) -> str:
        def body() -> tuple[str, list[Any]]:
            endpoint = self.endpoint(actor, endpoint_id)
            endpoint.update(actor, url, tuple(event_types), description)
            return str(endpoint_id), [endpoint]

        return self.run("update_webhook_endpoint", actor, key,
                        {"e": endpoint_id, "u": url, "t": list(event_types), "d": description},
                        body)

    def rotate_webhook_secret(self, actor: Actor, endpoint_id: UUID, overlap_seconds: int,
                              key: str | None = None) -> dict[str, Any]:
        """A new secret signs from now on; the previous ones keep signing beside it for
        `overlap_seconds`, so receivers can switch without missing a message."""
        overlap = timedelta(seconds=overlap_seconds)
        if overlap < timedelta(0) or overlap > MAX_OVERLAP:
            raise ValidationError("the overlap is 0 to 7 days", max_seconds=604_800)

        def body() -> tuple[dict[str, Any], list[Any]]:
            endpoint = self.endpoint(actor, endpoint_id)
            secret_id, secret = self._new_secret()
            endpoint.rotate(actor, secret_id, self.clock() + overlap)
            return {"endpoint_id": str(endpoint_id), "secret": secret}, [endpoint]

        return self.run("rotate_webhook_secret", actor, key,
                        {"e": endpoint_id, "o": overlap_seconds}, body)

    def disable_webhook_endpoint(self, actor: Actor, endpoint_id: UUID, reason: str,
                                 key: str | None = None) -> str:
        """By its owner, or by the delivery process (SYSTEM) after hours of failures."""
        def body() -> tuple[str, list[Any]]:
            endpoint = self.get(WebhookEndpoint, endpoint_id, "Webhook endpoint") \
                if actor == SYSTEM else self.endpoint(actor, endpoint_id)
            endpoint.disable(actor, reason)
            return str(endpoint_id), [endpoint]

        return self.run("disable_webhook_endpoint", actor, key,
                        {"e": endpoint_id, "r": reason}, body)

    def enable_webhook_endpoint(self, actor: Actor, endpoint_id: UUID,
                                key: str | None = None) -> str:
        def body() -> tuple[str, list[Any]]:
            endpoint = self.endpoint(actor, endpoint_id)
            endpoint.enable(actor)
            return str(endpoint_id), [endpoint]

        return self.run("enable_webhook_endpoint", actor, key, {"e": endpoint_id}, body)

    def delete_webhook_endpoint(self, actor: Actor, endpoint_id: UUID,
                                key: str | None = None) -> str:
        def body() -> tuple[str, list[Any]]:
            endpoint = self.endpoint(actor, endpoint_id)
            endpoint.delete(actor)
            return str(endpoint_id), [endpoint]

        return self.run("delete_webhook_endpoint", actor, key, {"e": endpoint_id}, body)

    def replay_webhook_delivery(self, actor: Actor, endpoint_id: UUID, delivery_id: str,
                                key: str | None = None) -> str:
        def body() -> tuple[str, list[Any]]:
            endpoint = self.endpoint(actor, endpoint_id)
            endpoint.replay(actor, delivery_id)
            return delivery_id, [endpoint]

        return self.run("replay_webhook_delivery", actor, key,
                        {"e": endpoint_id, "d": delivery_id}, body)
