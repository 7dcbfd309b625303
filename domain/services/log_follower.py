"""One way to follow the event log: a `LogFollower` hands the events of some topics, in log
order, to one subscriber (an in-memory index), in every process that keeps such an index.
docs/followers.md says how far behind each index may be and why that is safe."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from domain.services.core import CoreApplication

Positioned = tuple[int, Any]  # (log position, domain event)


class LogSubscriber(Protocol):
    """Keeps something in memory equal to what the log says. `apply` consumes the events in
    log order (all of the log on the first call: a subscriber may build in bulk) and must
    leave it whole when it raises: the follower then reads the same events again."""

    @property
    def topics(self) -> Sequence[str]: ...

    def apply(self, events: Iterable[Positioned]) -> None: ...


class Position(Protocol):
    """Where a follower stands. In memory for the indexes (each process rebuilds them at
    start); a durable one plugs in for a follower whose work must not be repeated."""

    def get(self) -> int: ...

    def set(self, position: int) -> None: ...


class MemoryPosition:
    def __init__(self, position: int = 0) -> None:
        self.position = position

    def get(self) -> int:
        return self.position

    def set(self, position: int) -> None:
        self.position = position


class LogFollower:
    """Thread-safe: one catch-up at a time, however many threads ask. `catch_up` first
    reads the log's head (one indexed query); only when the log moved does it read the new
    events of its topics, so a caller that must not act on a stale index (the gate, a
    scan) can afford to call it every time."""

    def __init__(self, app: CoreApplication, subscriber: LogSubscriber,
                 position: Position | None = None, batch: int = 1000) -> None:
        self.app = app
        self.subscriber = subscriber
        self._position = position if position is not None else MemoryPosition()
        self.batch = batch
        self.applied = 0  # events handed to the subscriber since this process started
        self._lock = threading.Lock()

    @property
    def position(self) -> int:
        return self._position.get()

    def head(self) -> int:
        return int(self.app.recorder.max_notification_id() or 0)

    def lag(self) -> int:
        """How many log positions the subscriber has not seen (of any topic)."""
        return max(0, self.head() - self.position)

    def catch_up(self) -> int:
        """Applies every event of the topics up to the log's head as read now; returns how
        many were applied."""
        with self._lock:
            start = self._position.get()
            head = self.head()
            if head <= start:
                return 0
            seen = [start, 0]  # last position applied, count

            def events() -> Iterator[Positioned]:
                for position, event in self.app.events_since(
                        start, list(self.subscriber.topics), self.batch):
                    yield position, event
                    seen[0], seen[1] = position, seen[1] + 1

            stream = events()
            self.subscriber.apply(stream)
            if next(stream, None) is not None:
                raise RuntimeError(f"{type(self.subscriber).__name__} stopped before the "
                                   "end of the events it was given")
            # Events committed after the head was read may have come along; positions are
            # committed in order, so nothing before the last one read can appear later.
            self._position.set(max(head, seen[0]))
            self.applied += seen[1]
            return seen[1]
