"""The feed's sorted index keeps its entries in order through inserts and removals, across
bucket splits, and resumes a descending walk just below any cursor."""

from __future__ import annotations

import random

import pytest

from projections.sorted_index import LOAD, SortedIndex

pytestmark = pytest.mark.unit


def test_entries_come_out_highest_first_through_splits_and_removals():
    rng = random.Random(1)
    index, mirror = SortedIndex(), set()
    for n in range(6 * LOAD):
        entry = (rng.choice([0.5, 1.0, rng.random()]), n)
        index.add(entry)
        mirror.add(entry)
        if rng.random() < 0.3:
            gone = rng.choice(sorted(mirror))
            assert index.remove(gone)
            mirror.discard(gone)
    assert len(index.buckets) > 2
    assert list(index.descending()) == sorted(mirror, reverse=True)
    assert index.head == max(mirror)[0] and len(index) == len(mirror)


def test_a_walk_resumes_strictly_below_a_cursor():
    index = SortedIndex()
    entries = [(float(n // 3), n) for n in range(3 * LOAD)]
    for entry in entries:
        index.add(entry)
    cursor = entries[LOAD]
    assert list(index.descending(cursor)) == sorted(entries[:LOAD], reverse=True)
    assert list(index.descending((-1.0, 0))) == []
    assert next(index.descending((1e9, 0))) == entries[-1]


def test_removing_what_is_not_there_changes_nothing():
    index = SortedIndex()
    index.add((1.0, 1))
    assert not index.remove((1.0, 2))
    assert not index.remove((5.0, 1))
    assert list(index.descending()) == [(1.0, 1)]
    assert index.remove((1.0, 1))
    assert not index and index.head == float("-inf") and index.top() is None
