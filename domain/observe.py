"""The worker's observer port: what the pipeline tells operators (a span per step, the time
of each stage). The adapter (adapters/observability.py) turns it into traces and metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol


class PipelineObserver(Protocol):
    def step(self, name: str, generation_id: str) -> contextlib.AbstractContextManager[None]:
        """Wraps one pipeline step (render, scan, finish, publish)."""
        ...

    def stage(self, name: str, seconds: float) -> None:
        """One stage's duration (render, faces, works, safety, watermark, encode, c2pa...)."""
        ...


class NullObserver:
    """Observes nothing: the default, and what unit tests use."""

    @contextlib.contextmanager
    def step(self, name: str, generation_id: str) -> Iterator[None]:
        yield

    def stage(self, name: str, seconds: float) -> None:
        return None
