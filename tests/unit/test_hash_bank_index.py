"""The PDQ multi-index: every hash within the match distance is found (checked against a
linear scan), recent additions are searched before they are merged, switched-off keys are
not answered, and a clip's frames are judged per key the vPDQ way."""

from __future__ import annotations

from uuid import uuid4

import numpy as np
import pytest

from domain.faces import MatchDecision
from inference.hash_bank import PdqMultiIndex, words_of

pytestmark = pytest.mark.unit


def random_hashes(rng: np.random.Generator, n: int) -> list[str]:
    return [bytes(row).hex() for row in rng.integers(0, 256, (n, 32), dtype=np.uint8)]


def flipped(value: str, bits: int, rng: np.random.Generator) -> str:
    raw = bytearray(bytes.fromhex(value))
    for bit in rng.choice(256, bits, replace=False):
        raw[bit // 8] ^= 1 << (bit % 8)
    return bytes(raw).hex()


def test_every_hash_within_the_match_distance_is_found_as_a_linear_scan_would():
    rng = np.random.default_rng(7)
    keys = [uuid4() for _ in range(300)]
    banked = {k: random_hashes(rng, 10) for k in keys}
    index = PdqMultiIndex(merge_at=1000)
    for key in keys:
        index.add(key, banked[key])
    assert len(index) == 3000
    queries = [flipped(banked[keys[i]][i % 10], int(rng.integers(0, 32)), rng)
               for i in range(100)]
    rows, numbers, _, names = index.search(queries, radius=31)
    found = {(int(r), names[int(n)]) for r, n in zip(rows, numbers, strict=True)}
    everything = words_of([h for k in keys for h in banked[k]])
    owners = [k for k in keys for _ in range(10)]
    for row, query in enumerate(words_of(queries)):
        linear = np.bitwise_count(everything ^ query).sum(axis=1)
        expected = {(row, owners[i]) for i in np.flatnonzero(linear <= 31)}
        assert expected and expected <= found


def test_switched_off_keys_are_not_answered_and_come_back():
    rng = np.random.default_rng(8)
    key, hashes = uuid4(), random_hashes(rng, 4)
    index = PdqMultiIndex()
    index.add(key, hashes)
    assert [m.key for m in index.matches(hashes)] == [key]
    index.set_active(key, False)
    assert index.matches(hashes) == []
    index.set_active(key, True)
    assert index.matches(hashes)[0].decision == MatchDecision.MATCH


def test_a_clip_is_judged_by_its_frames():
    rng = np.random.default_rng(9)
    key, hashes = uuid4(), random_hashes(rng, 6)
    index = PdqMultiIndex()
    index.add_many([(key, words_of(hashes))])
    [copy] = index.matches([flipped(h, 12, rng) for h in hashes])
    assert (copy.decision, copy.frames_matched) == (MatchDecision.MATCH, 6)
    other = random_hashes(rng, 6)
    [glimpse] = index.matches([flipped(hashes[0], 10, rng), *other[1:]])
    assert (glimpse.decision, glimpse.frames_matched) == (MatchDecision.REVIEW, 1)
    assert index.matches(other) == []


def test_videos_showing_a_reference_are_judged_over_their_own_frames():
    rng = np.random.default_rng(10)
    reference = random_hashes(rng, 2)
    shows, glimpse, unrelated = uuid4(), uuid4(), uuid4()
    index = PdqMultiIndex()
    index.add(shows, [flipped(reference[0], 8, rng), flipped(reference[0], 12, rng),
                      *random_hashes(rng, 2)])
    index.add(glimpse, [flipped(reference[1], 9, rng), *random_hashes(rng, 5)])
    index.add(unrelated, random_hashes(rng, 6))
    found = {m.key: m for m in index.showing(reference)}
    assert set(found) == {shows, glimpse}
    assert (found[shows].decision, found[shows].frames_matched) == (MatchDecision.MATCH, 2)
    assert found[glimpse].decision == MatchDecision.REVIEW
