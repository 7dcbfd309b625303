"""Opening review cases and configuring how they are worked: every case goes to the queue
the routing rules choose for its labels and reason, and the review configuration (policy
catalogue, queues, rules, wellness defaults, strikes) changes by admin commands only. Until
an admin changes anything, the defaults in domain/review_config.py apply; the first change
records them with it, so the log holds the whole configuration."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any
from uuid import UUID

from domain.actors import SYSTEM, Actor, Role
from domain.review_case import ReviewCase
from domain.review_config import REVIEW_CONFIG_ID, ReviewConfig
from domain.services.access import AccessCommands, require_role


@cache
def _defaults() -> ReviewConfig:
    """The default configuration, never saved (read-only use: routing, checks)."""
    return ReviewConfig.with_defaults(SYSTEM)


class CaseCommands(AccessCommands):
    def review_config(self) -> ReviewConfig:
        """The configuration now (read-only: change it with `configure_review`)."""
        return self.find(ReviewConfig, REVIEW_CONFIG_ID) or _defaults()

    def open_case(self, actor: Actor, subject_kind: str, subject_id: UUID,
                  subject_owner_id: UUID | None, reason: str, evidence: dict[str, Any],
                  priority: str = "normal", labels: tuple[str, ...] = ()) -> ReviewCase:
        queue = self.review_config().route(labels, reason)
        return ReviewCase.open(actor, subject_kind, subject_id, subject_owner_id, reason,
                               evidence, priority, queue=queue, labels=labels)

    def configure_review(self, actor: Actor, command: str, args: dict[str, Any],
                         change: Callable[[ReviewConfig], Any], key: str | None = None
                         ) -> dict[str, Any]:
        """Applies one admin change (`change(config)`) and records it; `command` and `args`
        name it for the idempotency key."""
        require_role(actor, Role.ADMIN)

        def body() -> tuple[dict[str, Any], list[Any]]:
            config = self.find(ReviewConfig, REVIEW_CONFIG_ID) \
                or ReviewConfig.with_defaults(actor)
            change(config)
            return {"version": config.version}, [config]

        return dict(self.run(command, actor, key, args, body))
