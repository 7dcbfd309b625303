"""Group commit: concurrent callers share writes, and a conflict fails only its own command."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from types import SimpleNamespace

import pytest
from eventsourcing.persistence import IntegrityError

from domain.services.committer import GroupCommitter

pytestmark = pytest.mark.unit


class SlowStore:
    """Stands in for a durable store: every put takes a while (the fsync), and an event
    named 'dup' conflicts."""

    def __init__(self) -> None:
        self.puts: list[list[str]] = []
        self.lock = threading.Lock()

    def put(self, events: Sequence[str]) -> None:
        time.sleep(0.01)
        if "dup" in events:
            raise IntegrityError("version conflict")
        with self.lock:
            self.puts.append(list(events))


def run_concurrently(committer: GroupCommitter, payloads: list[list[str]]) -> list[object]:
    outcomes: list[object] = [None] * len(payloads)

    def work(i: int) -> None:
        try:
            committer.commit(payloads[i])
            outcomes[i] = "ok"
        except IntegrityError as error:
            outcomes[i] = error

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_concurrent_commits_share_transactions():
    store = SlowStore()
    committer = GroupCommitter(store.put)
    outcomes = run_concurrently(committer, [[f"e{i}"] for i in range(16)])
    assert outcomes == ["ok"] * 16
    assert sorted(e for put in store.puts for e in put) == sorted(f"e{i}" for i in range(16))
    assert committer.batches < 16  # several commands per transaction


def test_a_conflict_fails_only_the_command_that_caused_it():
    store = SlowStore()
    committer = GroupCommitter(store.put)
    payloads = [["a"], ["dup"], ["b"], ["c"]]
    outcomes = run_concurrently(committer, payloads)
    assert isinstance(outcomes[1], IntegrityError)
    assert [o for i, o in enumerate(outcomes) if i != 1] == ["ok", "ok", "ok"]
    assert sorted(e for put in store.puts for e in put) == ["a", "b", "c"]


def test_a_single_caller_writes_its_events_in_one_put():
    store = SlowStore()
    committer = GroupCommitter(store.put)
    committer.commit(["x", "y"])
    assert store.puts == [["x", "y"]]


class NumberingStore(SlowStore):
    """Also reports a log position for every event, as the real recorders do."""

    def __init__(self) -> None:
        super().__init__()
        self.next_id = 0

    def put(self, events: Sequence[str]) -> list[object]:
        super().put(events)
        with self.lock:
            ids = range(self.next_id + 1, self.next_id + 1 + len(events))
            self.next_id += len(events)
        return [SimpleNamespace(notification=SimpleNamespace(id=i)) for i in ids]


def test_each_caller_learns_the_position_of_its_own_last_event():
    store = NumberingStore()
    committer = GroupCommitter(store.put)
    positions: dict[str, int] = {}

    def work(name: str) -> None:
        positions[name] = committer.commit([f"{name}-1", f"{name}-2"])

    threads = [threading.Thread(target=work, args=(f"c{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    order = [e for put in store.puts for e in put]
    assert {name: order.index(f"{name}-2") + 1 for name in positions} == positions
