"""Builds the webhook delivery store (SQLite beside the embedded store, PostgreSQL tables in
production, memory for `memory`) and the delivery process from the settings."""

from __future__ import annotations

from typing import Any

from adapters.settings import Settings
from adapters.webhook_delivery import DEFAULT_SCHEDULE, WebhookDeliveryProcess
from adapters.webhook_http import TargetPolicy, WebhookSender
from adapters.webhook_store import WebhookStore


def build_webhook_store(settings: Settings) -> WebhookStore:
    if settings.store == "postgres":
        return WebhookStore(pg_dsn=settings.pg_dsn, pg_schema=settings.pg_schema)
    if settings.store == "sqlite":
        return WebhookStore(settings.data_dir / "webhooks.sqlite3")
    return WebhookStore()


def target_policy(settings: Settings) -> TargetPolicy:
    return TargetPolicy(allow_private=settings.webhooks_allow_private)


def build_webhook_process(settings: Settings, app: Any, store: WebhookStore
                          ) -> WebhookDeliveryProcess:
    sender = WebhookSender(target_policy(settings), timeout=settings.webhook_timeout)
    return WebhookDeliveryProcess(app, store, app.webhook_secrets, sender,
                                  schedule=settings.webhook_retry_schedule or DEFAULT_SCHEDULE,
                                  attempt_timeout=settings.webhook_timeout)
