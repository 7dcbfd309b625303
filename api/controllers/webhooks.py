"""Webhook endpoints (rights holders for their works; admins for a client app) and their
deliveries: register (secret shown once), change, rotate the secret, disable, enable,
delete; list deliveries with their attempts, and replay one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import delete, get, post, put
from litestar.concurrency import sync_to_thread
from litestar.params import FromPath, JSONBody

from adapters.webhook_http import TargetRefusedError
from adapters.webhook_setup import target_policy
from api.controllers.identity import CursorQuery, Limit
from api.deps import (
    ActorDep,
    AuthenticatedController,
    IdempotencyKey,
    Req,
    command,
    container,
    require,
    webhook_store,
)
from api.schemas.common import Ack
from api.schemas.webhooks import (
    DeliveryOut,
    DeliveryPage,
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    EndpointPage,
    RotationIn,
)
from domain.actors import Role
from domain.errors import NotFoundError, WebhookTargetRefusedError
from domain.webhook import WebhookEndpoint
from projections.base import decode_cursor, encode_cursor

OWNERS = (Role.RIGHTS_HOLDER, Role.ADMIN)


async def check_target(request: Req, url: str) -> None:
    try:
        await sync_to_thread(target_policy(container(request).settings).check, url)
    except TargetRefusedError as refused:
        raise WebhookTargetRefusedError(str(refused)) from None


async def own_endpoint(request: Req, actor: ActorDep, endpoint_id: UUID) -> WebhookEndpoint:
    endpoint: WebhookEndpoint = await sync_to_thread(container(request).app.endpoint, actor,
                                                     endpoint_id)
    return endpoint


def endpoint_out(e: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(str(e.id), e.url, list(e.event_types), e.enabled, e.disabled_reason,
                       e.description)


class WebhookEndpointController(AuthenticatedController):
    path = "/webhooks/endpoints"
    tags = ["webhooks"]

    @post("/", operation_id="registerWebhookEndpoint", status_code=201)
    async def register(self, request: Req, actor: ActorDep, data: JSONBody[EndpointIn],
                       idempotency_key: IdempotencyKey = None) -> EndpointCreated:
        """Signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
        `webhook-signature`); the secret is in this answer only. The host must be public."""
        require(actor, *OWNERS)
        await check_target(request, data.url)
        result = await command(request, container(request).app.register_webhook_endpoint,
                               actor, data.url, tuple(data.event_types), data.description,
                               key=idempotency_key)
        return EndpointCreated(result["endpoint_id"], result["secret"],
                               result.get("secret_redacted", False))

    @get("/", operation_id="listWebhookEndpoints")
    async def list_endpoints(self, request: Req, actor: ActorDep, cursor: CursorQuery = None,
                             limit: Limit = 50) -> EndpointPage:
        """The caller's endpoints (an admin's: every endpoint), oldest first."""
        require(actor, *OWNERS)
        after = decode_cursor(cursor)
        rows = await sync_to_thread(webhook_store(request).endpoints,
                                    None if actor.role == Role.ADMIN else actor.id,
                                    int(after[0]) if after else None, limit + 1)
        items = [EndpointOut(r["id"], r["url"], r["event_types"], r["enabled"],
                             r["disabled_reason"]) for r in rows[:limit]]
        more = len(rows) > limit
        return EndpointPage(items, encode_cursor(rows[limit - 1]["seq"]) if more else None)

    @get("/{endpoint_id:uuid}", operation_id="getWebhookEndpoint")
    async def get_endpoint(self, request: Req, actor: ActorDep,
                           endpoint_id: FromPath[UUID]) -> EndpointOut:
        """Includes why it was disabled, when the delivery process gave up on it."""
        return endpoint_out(await own_endpoint(request, actor, endpoint_id))

    @put("/{endpoint_id:uuid}", operation_id="updateWebhookEndpoint")
    async def update(self, request: Req, actor: ActorDep, endpoint_id: FromPath[UUID],
                     data: JSONBody[EndpointIn],
                     idempotency_key: IdempotencyKey = None) -> EndpointOut:
        await check_target(request, data.url)
        app = container(request).app
        await command(request, app.update_webhook_endpoint, actor, endpoint_id, data.url,
                      tuple(data.event_types), data.description, key=idempotency_key)
        return endpoint_out(await own_endpoint(request, actor, endpoint_id))

    @post("/{endpoint_id:uuid}/secret-rotations", operation_id="rotateWebhookSecret",
          status_code=201)
    async def rotate(self, request: Req, actor: ActorDep, endpoint_id: FromPath[UUID],
                     data: JSONBody[RotationIn],
                     idempotency_key: IdempotencyKey = None) -> EndpointCreated:
        """A new secret (shown once) signs from now on; the previous ones also sign for
        `overlap_seconds`, so a receiver can switch without missing a message."""
        result = await command(request, container(request).app.rotate_webhook_secret, actor,
                               endpoint_id, data.overlap_seconds, key=idempotency_key)
        return EndpointCreated(result["endpoint_id"], result["secret"],
                               result.get("secret_redacted", False))

    @post("/{endpoint_id:uuid}/disable", operation_id="disableWebhookEndpoint",
          status_code=200)
    async def disable(self, request: Req, actor: ActorDep, endpoint_id: FromPath[UUID],
                      idempotency_key: IdempotencyKey = None) -> Ack:
        await command(request, container(request).app.disable_webhook_endpoint, actor,
                      endpoint_id, "disabled by its owner", key=idempotency_key)
        return Ack("disabled")

    @post("/{endpoint_id:uuid}/enable", operation_id="enableWebhookEndpoint", status_code=200)
    async def enable(self, request: Req, actor: ActorDep, endpoint_id: FromPath[UUID],
                     idempotency_key: IdempotencyKey = None) -> Ack:
        await command(request, container(request).app.enable_webhook_endpoint, actor,
                      endpoint_id, key=idempotency_key)
        return Ack("enabled")

    @delete("/{endpoint_id:uuid}", operation_id="deleteWebhookEndpoint", status_code=200)
    async def delete_endpoint(self, request: Req, actor: ActorDep,
                              endpoint_id: FromPath[UUID]) -> Ack:
        """Stops its deliveries and destroys its secrets."""
        await command(request, container(request).app.delete_webhook_endpoint, actor,
                      endpoint_id)
        return Ack("deleted")

    @get("/{endpoint_id:uuid}/deliveries", operation_id="listWebhookDeliveries")
    async def deliveries(self, request: Req, actor: ActorDep, endpoint_id: FromPath[UUID],
                         cursor: CursorQuery = None, limit: Limit = 50) -> DeliveryPage:
        """Newest event first, with each delivery's status and attempt count."""
        await own_endpoint(request, actor, endpoint_id)
        after = decode_cursor(cursor)
        before = (int(after[0]), str(after[1])) if after and len(after) == 2 else None
        rows = await sync_to_thread(webhook_store(request).deliveries,
                                    str(endpoint_id), before, limit + 1)
        more = len(rows) > limit
        last = rows[limit - 1] if more else None
        return DeliveryPage([DeliveryOut.of(d) for d in rows[:limit]],
                            encode_cursor(last.position, last.id) if last else None)


class WebhookDeliveryController(AuthenticatedController):
    path = "/webhooks/deliveries"
    tags = ["webhooks"]

    async def _own(self, request: Req, actor: ActorDep, delivery_id: str) -> Any:
        delivery = await sync_to_thread(webhook_store(request).delivery, delivery_id)
        if delivery is None:
            raise NotFoundError("Delivery not found", id=delivery_id)
        await own_endpoint(request, actor, UUID(delivery.endpoint_id))
        return delivery

    @get("/{delivery_id:str}", operation_id="getWebhookDelivery")
    async def get_delivery(self, request: Req, actor: ActorDep,
                           delivery_id: FromPath[str]) -> DeliveryOut:
        """The delivery and every attempt (status code, error, duration, the start of the
        receiver's answer)."""
        delivery = await self._own(request, actor, delivery_id)
        attempts = await sync_to_thread(webhook_store(request).attempts,
                                        delivery_id)
        return DeliveryOut.of(delivery, attempts)

    @post("/{delivery_id:str}/replays", operation_id="replayWebhookDelivery",
          status_code=202)
    async def replay(self, request: Req, actor: ActorDep, delivery_id: FromPath[str],
                     idempotency_key: IdempotencyKey = None) -> Ack:
        """Sends it again, with the same `webhook-id` (one more attempt)."""
        delivery = await self._own(request, actor, delivery_id)
        await command(request, container(request).app.replay_webhook_delivery, actor,
                      UUID(delivery.endpoint_id), delivery_id, key=idempotency_key)
        return Ack("queued")

