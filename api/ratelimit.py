"""Rate limits for the expensive endpoints, with the `limits` library: per principal
(generation requests, identity verification) and per client address on the public lookup,
counted in requests and weighted by the seconds of video decoded. In memory for the
embedded default, Redis when CONSENTRY_REDIS_URL is set so that several API processes share
the counts. Every refusal says when to come back (`Retry-After`)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from domain.actors import Actor
from domain.errors import DomainError

DEFAULTS = {"generation": "30/minute", "verification": "5/hour",
            # public, per client address: uploads that are decoded (the lookup, its page,
            # the resolution API's byContent) in requests and in seconds of video decoded,
            # and the resolution API's cheap queries
            "provenance": "20/minute", "provenance-seconds": "600/10 minutes",
            "soft_binding": "120/minute",
            # public takedown requests, per client address (each also costs a proof of work)
            "takedown": "10/hour", "takedown-challenge": "60/hour"}


class RateLimitedError(DomainError):
    code = "rate-limited"
    status = 429


class RateLimits:
    def __init__(self, redis_url: str = "", rules: dict[str, str] | None = None) -> None:
        self._limiter = MovingWindowRateLimiter(
            storage_from_string(redis_url or "memory://"))
        self._rules: dict[str, RateLimitItem] = {
            name: parse(rule) for name, rule in {**DEFAULTS, **(rules or {})}.items()}

    def check(self, name: str, actor: Actor) -> None:
        """Counts one call; raises RateLimitedError (HTTP 429) once the window is full."""
        self.check_subject(name, actor.id)

    def check_subject(self, name: str, subject: str) -> None:
        """The same for any subject: a principal's id, or a client address on public
        endpoints."""
        rule = self._rules[name]
        if not self._limiter.hit(rule, name, subject):
            raise self._refusal(rule, name, subject, f"too many {name} requests")

    def require_budget(self, name: str, subject: str) -> None:
        """Refuses (429) a subject whose weighted budget is spent, before it costs more."""
        rule = self._rules[name]
        if not self._limiter.test(rule, name, subject):
            raise self._refusal(rule, name, subject, f"the {name} budget is spent")

    def charge(self, name: str, subject: str, cost: int) -> None:
        """Counts `cost` units of work done (seconds of video decoded, say); what exceeds
        the budget empties it."""
        rule = self._rules[name]
        remaining = self._limiter.get_window_stats(rule, name, subject).remaining
        if remaining > 0:
            self._limiter.hit(rule, name, subject, cost=max(1, min(cost, remaining)))

    def _refusal(self, rule: RateLimitItem, name: str, subject: str,
                 what: str) -> RateLimitedError:
        reset = self._limiter.get_window_stats(rule, name, subject).reset_time
        return RateLimitedError(f"{what}; limit {rule}",
                                retry_after=max(1, math.ceil(reset - time.time())))
