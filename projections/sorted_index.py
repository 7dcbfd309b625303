"""A sorted index of `(score, id)` pairs for the in-memory feed: lists of at most a few
hundred items kept in order with `bisect`, so an insert or a removal moves a few kilobytes
instead of the whole index, and the highest items are read in constant time."""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Iterator
from typing import Any

# (score, generation id as an int: the tie-breaker, payload...): (score, id) is unique, so
# comparisons never reach the payload, which saves readers a lookup.
Entry = tuple[Any, ...]
LOAD = 256


class SortedIndex:
    """Ascending order; `buckets[i][j]` addresses an entry, and `start(below)` finds where
    a descending walk resumes after a cursor. Not thread-safe: the feed's read models run
    on the event loop."""

    __slots__ = ("buckets", "head", "maxes")

    def __init__(self) -> None:
        self.buckets: list[list[Entry]] = []
        self.maxes: list[Entry] = []
        self.head = -math.inf  # the highest score, read by every feed request

    def __len__(self) -> int:
        return sum(len(b) for b in self.buckets)

    def __bool__(self) -> bool:
        return bool(self.buckets)  # no empty buckets are kept

    def add(self, entry: Entry) -> None:
        if not self.buckets:
            self.buckets.append([entry])
            self.maxes.append(entry)
            self.head = entry[0]
            return
        i = min(bisect_left(self.maxes, entry), len(self.maxes) - 1)
        bucket = self.buckets[i]
        insort(bucket, entry)
        self.maxes[i] = bucket[-1]
        if len(bucket) > 2 * LOAD:
            self.buckets[i:i + 1] = [bucket[:LOAD], bucket[LOAD:]]
            self.maxes[i:i + 1] = [bucket[LOAD - 1], bucket[-1]]
        self.head = self.maxes[-1][0]

    def remove(self, entry: Entry) -> bool:
        i = bisect_left(self.maxes, entry)
        if i == len(self.maxes):
            return False
        bucket = self.buckets[i]
        j = bisect_left(bucket, entry)
        if j == len(bucket) or bucket[j] != entry:
            return False
        del bucket[j]
        if bucket:
            self.maxes[i] = bucket[-1]
        else:
            del self.buckets[i]
            del self.maxes[i]
        self.head = self.maxes[-1][0] if self.maxes else -math.inf
        return True

    def top(self) -> tuple[int, int] | None:
        """(bucket, position) of the highest entry, or None when empty."""
        if not self.buckets:
            return None
        return len(self.buckets) - 1, len(self.buckets[-1]) - 1

    def start(self, below: Entry) -> tuple[int, int] | None:
        """(bucket, position) of the highest entry strictly below `below`, or None."""
        i = bisect_left(self.maxes, below)
        if i == len(self.maxes):
            return self.top()
        j = bisect_left(self.buckets[i], below) - 1
        if j >= 0:
            return i, j
        if i == 0:
            return None
        return i - 1, len(self.buckets[i - 1]) - 1

    def descending(self, below: Entry | None = None) -> Iterator[Entry]:
        """Entries from the highest down (from the highest below `below`, if given)."""
        where = self.top() if below is None else self.start(below)
        if where is None:
            return
        i, j = where
        buckets = self.buckets
        while True:
            bucket = buckets[i]
            for k in range(j, -1, -1):
                yield bucket[k]
            if i == 0:
                return
            i -= 1
            j = len(buckets[i]) - 1
