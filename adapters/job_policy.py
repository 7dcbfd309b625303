"""What both job queues share: how many attempts a job gets, how long one may take, and how
long to wait before the next (exponential backoff, so a briefly unavailable service is not
hammered)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain.jobs import GENERATE, VERIFY_IDENTITY

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF: tuple[float, ...] = (2.0, 8.0, 32.0)  # before the 2nd, 3rd, 4th... attempt
DEFAULT_TIMEOUTS: Mapping[str, float] = {VERIFY_IDENTITY: 120.0, GENERATE: 900.0}
DEFAULT_TIMEOUT = 600.0  # a kind with no timeout of its own


class JobLostError(RuntimeError):
    """Handed to the give-up handler when the worker running a job's last attempt died:
    the attempt neither succeeded nor raised, but it is used up all the same."""


def retry_delay(backoff: Sequence[float], attempt: int) -> float:
    """Seconds to wait after failed attempt `attempt` (from 1); the last delay repeats."""
    if not backoff:
        return 0.0
    return float(backoff[min(attempt, len(backoff)) - 1])


def timeout_for(timeouts: Mapping[str, float] | None, kind: str) -> float:
    if timeouts is not None and kind in timeouts:
        return float(timeouts[kind])
    return float(DEFAULT_TIMEOUTS.get(kind, DEFAULT_TIMEOUT))
