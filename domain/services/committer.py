"""Group commit: concurrent commands share one transaction (and one fsync) instead of
queueing for one each. The first waiting thread leads: it writes every batch queued so far
in one `put`; if that fails on a conflict, it writes them one by one so only the commands
that really conflict fail."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError


class _Pending:
    __slots__ = ("done", "error", "events", "position")

    def __init__(self, events: Sequence[Any]) -> None:
        self.events = events
        self.done = False
        self.error: BaseException | None = None
        self.position = 0  # the log position of the last of these events, once written


class GroupCommitter:
    """Batches `put(events)` calls from many threads; each caller returns once its own
    events are durable (with the log position of the last one), or raises the error its
    own events caused. `put` returns one recording per event, in order."""

    def __init__(self, put: Callable[[Sequence[Any]], Any], max_batch: int = 256) -> None:
        self._put = put
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._leading = False
        self.batches = 0  # observable for tests and benchmarks
        self.commands = 0

    def commit(self, events: Sequence[Any]) -> int:
        item = _Pending(events)
        with self._cond:
            self._queue.append(item)
        while True:
            with self._cond:
                while not item.done and self._leading:
                    self._cond.wait()
                if item.done:
                    break
                self._leading = True
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
            try:
                self._write(batch)
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()
        if item.error is not None:
            raise item.error
        return item.position

    def _write(self, batch: list[_Pending]) -> None:
        self.batches += 1
        self.commands += len(batch)
        try:
            recordings = self._put([e for p in batch for e in p.events])
        except IntegrityError as error:
            if len(batch) == 1:
                batch[0].error, batch[0].done = error, True
                return
        except BaseException as error:  # handed to every caller in the batch
            for p in batch:
                p.error, p.done = error, True
            return
        else:
            offset = 0
            for p in batch:
                offset += len(p.events)
                p.position = _position(recordings, offset)
                p.done = True
            return
        for p in batch:  # one conflict spoilt the batch: find whose
            try:
                p.position = _position(self._put(p.events), len(p.events))
            except BaseException as error:
                p.error = error
            p.done = True


def _position(recordings: Any, upto: int) -> int:
    try:
        return int(recordings[upto - 1].notification.id)
    except (TypeError, IndexError, AttributeError):
        return 0  # a store that does not report positions
