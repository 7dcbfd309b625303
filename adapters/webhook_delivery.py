"""Event log → webhook deliveries → receivers. A tracked process in the projection runner
turns events into deliveries (stored with its durable position in one transaction: no
event, no delivery; a crash loses none), and a sender task attempts them, retrying with
backoff for about a day before giving up and disabling an endpoint that never answered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from adapters import metrics
from adapters.webhook_http import WebhookSender
from adapters.webhook_store import DELIVERED, FAILED, PENDING, Attempt, Delivery, WebhookStore
from domain.actors import SYSTEM, Role
from domain.webhook import WebhookEndpoint, WebhookSecrets
from domain.webhook_messages import Message, messages_of
from projections.base import Batch

log = logging.getLogger(__name__)
# Seconds after each failed attempt before the next (Standard Webhooks' suggestion:
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h): eight attempts over about 27 hours.
DEFAULT_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True)
class EndpointInfo:
    id: str
    owner_id: str
    owner_role: str
    url: str
    event_types: tuple[str, ...]
    enabled: bool
    disabled_reason: str
    seq: int
    secret_ids: tuple[tuple[str, datetime | None], ...]
    deleted: bool = False

    def wants(self, message: Message) -> bool:
        if not self.enabled or self.deleted or message.type not in self.event_types:
            return False
        if message.rights_holder_id is None:
            return self.owner_role == Role.ADMIN
        return self.owner_role == Role.RIGHTS_HOLDER and self.owner_id == message.rights_holder_id

    def row(self) -> dict[str, Any]:
        return {"id": self.id, "owner_id": self.owner_id, "url": self.url,
                "event_types": self.event_types, "enabled": self.enabled and not self.deleted,
                "disabled_reason": "deleted" if self.deleted else self.disabled_reason,
                "seq": self.seq}


class WebhookDeliveryProcess:
    """Runs in the projection runner like a view (`position`/`apply`/`tick`). Endpoints are
    followed in memory from the log (read from its start at every start, like the
    revocation process's index); only events after the durable position make deliveries."""

    name = "webhook-delivery"

    def __init__(self, app: Any, store: WebhookStore, secrets: WebhookSecrets,
                 sender: WebhookSender, schedule: tuple[float, ...] = DEFAULT_SCHEDULE,
                 concurrency: int = 32, attempt_timeout: float = 10.0) -> None:
        self.app = app
        self.store = store
        self.secrets = secrets
        self.sender = sender
        self.schedule = schedule
        self.concurrency = concurrency
        self.lease = attempt_timeout * 1.5 + 1.0  # longer than any attempt can take
        self.endpoints: dict[str, EndpointInfo] = {}
        self._seen = 0
        self._acted: int | None = None
        self._secret_cache: dict[str, str | None] = {}  # None: destroyed
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.run_in_thread: Callable[..., Awaitable[Any]] = asyncio.to_thread

    async def position(self) -> int:
        return self._seen

    async def apply(self, batch: Batch) -> None:
        fresh = [(p, e) for p, e in batch if p > self._seen]
        if not fresh:
            return
        if self._acted is None:
            self._acted = await self.run_in_thread(self.store.position, self.name)
        await self.run_in_thread(self._record, fresh, self._acted)
        self._seen = fresh[-1][0]
        self._acted = max(self._acted, self._seen)
        self._wake.set()

    def _record(self, fresh: Batch, acted: int) -> None:
        """In the runner's thread: endpoint changes and new deliveries, then one write."""
        changed: dict[str, EndpointInfo] = {}
        deliveries: list[Delivery] = []
        replays: list[tuple[str, str, float]] = []
        for position, event in fresh:
            if isinstance(event, WebhookEndpoint.Event):
                info = self._follow(position, event)
                if info is not None:
                    changed[info.id] = info
                if isinstance(event, WebhookEndpoint.DeliveryReplayed) and position > acted:
                    replays.append((event.delivery_id, str(event.originator_id), time.time()))
            elif position > acted:
                deliveries += self._deliveries(position, event)
        if changed or deliveries or replays or fresh[-1][0] > acted:
            self.store.record(self.name, max(acted, fresh[-1][0]),
                              [e.row() for e in changed.values()], deliveries, replays)

    def _follow(self, position: int, event: Any) -> EndpointInfo | None:
        key = str(event.originator_id)
        if isinstance(event, WebhookEndpoint.Registered):
            info = EndpointInfo(key, event.owner_id, event.owner_role, event.url,
                                tuple(event.event_types), True, "", position,
                                ((event.secret_id, None),))
        elif key not in self.endpoints:
            return None
        else:
            info = self._changed(self.endpoints[key], event)
        self.endpoints[key] = info
        return info

    @staticmethod
    def _changed(info: EndpointInfo, event: Any) -> EndpointInfo:
        match event:
            case WebhookEndpoint.Updated():
                return replace(info, url=event.url, event_types=tuple(event.event_types))
            case WebhookEndpoint.SecretRotated():
                old = tuple((s, e if e is not None and e <= event.previous_until
                             else event.previous_until) for s, e in info.secret_ids)
                return replace(info, secret_ids=(*old, (event.secret_id, None)))
            case WebhookEndpoint.Disabled():
                return replace(info, enabled=False, disabled_reason=event.reason)
            case WebhookEndpoint.Enabled():
                return replace(info, enabled=True, disabled_reason="")
            case WebhookEndpoint.Deleted():
                return replace(info, enabled=False, deleted=True)
        return info

    def _deliveries(self, position: int, event: Any) -> list[Delivery]:
        messages = messages_of(event, self.app)
        found = []
        committed = event.timestamp.timestamp()
        for index, message in enumerate(messages):
            targets = [e for e in self.endpoints.values() if e.wants(message)]
            if not targets:
                continue
            message_id = f"msg_{position}_{index}"
            payload = json.dumps({"type": message.type, "timestamp": event.timestamp.isoformat(),
                                  "data": message.data}, separators=(",", ":"), sort_keys=True)
            found += [Delivery(f"{message_id}:{e.id}", message_id, e.id, message.type, payload,
                               position, committed, next_attempt_at=committed)
                      for e in targets]
        return found

    async def tick(self) -> None:
        """Between the runner's rounds: destroys the secrets whose overlap has ended and
        those of deleted endpoints (after the log was read up to here)."""
        now = self.app.clock()
        for info in list(self.endpoints.values()):
            for secret_id, expires in info.secret_ids:
                gone = info.deleted or (expires is not None and expires <= now)
                if gone and self._secret_cache.get(secret_id, "") is not None:
                    self._secret_cache[secret_id] = None
                    await asyncio.to_thread(self.secrets.destroy, secret_id)

    # -- the sender ----------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._send_loop(), name="webhook-sender")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._inflight):
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)
        await self.sender.close()

    async def _send_loop(self) -> None:
        while True:
            try:
                free = self.concurrency - len(self._inflight)
                claimed = await asyncio.to_thread(self.store.claim, time.time(), free,
                                                  self.lease) if free > 0 else []
                for delivery in claimed:
                    task = asyncio.create_task(self._attempt(delivery))
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
                if claimed and len(claimed) == free:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook sender: could not claim deliveries")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.5)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            await self._try(delivery)
        except Exception:
            log.exception("webhook delivery %s: attempt failed to run", delivery.id)

    async def _try(self, delivery: Delivery) -> None:
        info = self.endpoints.get(delivery.endpoint_id)
        if info is None or not info.enabled:
            reason = "endpoint deleted" if info is None or info.deleted else "endpoint disabled"
            await asyncio.to_thread(self.store.skip, delivery, reason)
            return
        secrets = await self._signing_secrets(info)
        result = await self.sender.send(info.url, delivery.message_id, delivery.payload,
                                        secrets)
        now = time.time()
        number = delivery.attempts + 1
        attempt = Attempt(delivery.id, number, now, result.status_code, result.error,
                          round(result.seconds * 1000, 2), result.response)
        if result.accepted:
            status, next_at = DELIVERED, now
            metrics.WEBHOOK_DELIVERED_SECONDS.observe(max(0.0, now - delivery.committed_at))
        elif number <= len(self.schedule):
            status, next_at = PENDING, now + self.schedule[number - 1]
        else:
            status, next_at = FAILED, now
        metrics.WEBHOOK_ATTEMPTS.labels("accepted" if result.accepted else "refused"
                                        if result.error.startswith("refused") else "failed").inc()
        await asyncio.to_thread(self.store.finish, delivery, attempt, status, next_at)
        if status == FAILED:
            metrics.WEBHOOK_GAVE_UP.inc()
            if number == len(self.schedule) + 1:  # the schedule ran out (not a replay)
                await self._maybe_disable(info, delivery, result.error)

    async def _maybe_disable(self, info: EndpointInfo, delivery: Delivery, error: str
                             ) -> None:
        """Disables an endpoint that accepted nothing since this delivery's first attempt
        (about a day of failures); the reason is on the endpoint, and the owner sees it."""
        since = delivery.first_attempt_at or delivery.committed_at
        if await asyncio.to_thread(self.store.succeeded_since, info.id, since):
            return
        when = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d %H:%M")
        reason = (f"no delivery accepted since {when} UTC: delivery {delivery.id} failed "
                  f"every attempt (last: {error or 'no answer'})")
        await self.run_in_thread(self.app.disable_webhook_endpoint, SYSTEM, UUID(info.id),
                                 reason)
        metrics.WEBHOOK_DISABLED.inc()
        log.warning("webhook endpoint %s disabled: %s", info.id, reason)

    async def _signing_secrets(self, info: EndpointInfo) -> list[str]:
        now = self.app.clock()
        found = []
        for secret_id, expires in info.secret_ids:
            if expires is not None and expires <= now:
                continue
            if secret_id not in self._secret_cache:
                self._secret_cache[secret_id] = await asyncio.to_thread(
                    self.secrets.get, secret_id)
            secret = self._secret_cache[secret_id]
            if secret:
                found.append(secret)
        return found
