"""Misspelt work names: prompt words that the dictionary does not know are corrected to the
nearest word of a registered alias (edit distance, or the same Metaphone code), and the
corrected prompt is matched against the aliases like any other."""

from __future__ import annotations

import importlib.metadata
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from uuid import UUID

import jellyfish
import wordfreq
from rapidfuzz import process
from rapidfuzz.distance import OSA

from domain.prompts import AliasHit
from inference.aliases import AhoCorasickAliasIndex, alias_key, fold

__all__ = ["FuzzyAliasMatcher", "FuzzySettings", "KnownWords"]

_WORDFREQ = importlib.metadata.version("wordfreq")
# Letters, digits and the leetspeak stand-ins the alias normaliser folds ("p!k@chu").
_TOKEN = re.compile(r"[\w@$!|]+")


@dataclass(frozen=True)
class FuzzySettings:
    """`known_zipf`: a word at least this frequent in `language` (wordfreq's Zipf scale: 3
    is once per million words) is a real word, never a misspelling; a word at least
    `rare_zipf` frequent may be a rare real word ("gorgonzola"), so correcting it says
    review; `min_length`: shorter words are never corrected; from `long_length` letters
    two edits are tolerated, below it one. A correction only by sound (same Metaphone
    code, more edits) says review too."""

    known_zipf: float = 3.0
    rare_zipf: float = 2.0
    language: str = "en"
    min_length: int = 5
    long_length: int = 8
    phonetic_extra_edits: int = 2


class KnownWords:
    """The dictionary: wordfreq's frequency lists (data inside the wheel, 40 languages), so
    "known" means "used", which also covers names and brands in common use."""

    def __init__(self, min_zipf: float = 3.0, language: str = "en") -> None:
        self.min_zipf = min_zipf
        self.language = language
        self.zipf = lru_cache(maxsize=65536)(self._lookup)

    def _lookup(self, word: str) -> float:
        return float(wordfreq.zipf_frequency(word, self.language))

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.zipf(word) >= self.min_zipf


@dataclass(frozen=True)
class _Correction:
    start: int  # original offsets of the corrected token(s)
    end: int
    replacement: str
    score: float
    decision: str


class _Vocabulary:
    """Keys of alias words (and of whole multi-word aliases), bucketed by length and by
    their first two or last two letters, and by Metaphone code, so that a lookup compares
    a query with a few hundred keys even when 100,000 works are registered. The price:
    a word misspelt within its first two and its last two letters at once is found only
    if it still sounds the same."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self._by_edge: dict[tuple[int, str], dict[str, None]] = {}
        self._by_sound: dict[str, dict[str, None]] = {}
        self._lists: dict[tuple[int, str], list[str]] = {}

    def add(self, key: str) -> None:
        self.count[key] = self.count.get(key, 0) + 1
        if self.count[key] == 1:
            for bucket in self._edges(key):
                self._by_edge.setdefault(bucket, {})[key] = None
                self._lists.pop(bucket, None)
            self._by_sound.setdefault(jellyfish.metaphone(key), {})[key] = None

    def remove(self, key: str) -> None:
        left = self.count.get(key, 0) - 1
        if left > 0:
            self.count[key] = left
            return
        self.count.pop(key, None)
        for bucket in self._edges(key):
            self._by_edge.get(bucket, {}).pop(key, None)
            self._lists.pop(bucket, None)
        self._by_sound.get(jellyfish.metaphone(key), {}).pop(key, None)

    @staticmethod
    def _edges(key: str) -> tuple[tuple[int, str], ...]:
        return (len(key), "^" + key[:2]), (len(key), "$" + key[-2:])

    def materialise(self) -> None:
        """Build every bucket's list now (after a bulk load) rather than on a first query."""
        self._lists = {bucket: list(keys) for bucket, keys in self._by_edge.items()}

    def _bucket(self, bucket: tuple[int, str]) -> list[str]:
        cached = self._lists.get(bucket)
        if cached is None:
            cached = self._lists[bucket] = list(self._by_edge.get(bucket, {}))
        return cached

    def nearest(self, key: str, limit: int, extra: int) -> tuple[str, int, bool] | None:
        """(vocabulary key, edits, by sound only) of the closest key within `limit` edits,
        else of a key that sounds the same within `limit + extra`; None when neither."""
        best: tuple[str, int, bool] | None = None
        for length in range(len(key) - limit, len(key) + limit + 1):
            for edge in ("^" + key[:2], "$" + key[-2:]):
                found = process.extractOne(key, self._bucket((length, edge)),
                                           scorer=OSA.distance, score_cutoff=limit)
                if found is not None and (best is None or found[1] < best[1]):
                    best = (found[0], int(found[1]), False)
        if best is not None:
            return best
        sounds = self._by_sound.get(jellyfish.metaphone(key), {})
        for other in sounds:
            edits = OSA.distance(key, other)
            if edits <= limit + extra and (best is None or edits < best[1]):
                best = (other, edits, True)
        return best


class FuzzyAliasMatcher:
    """Finds works whose alias is written with a few letters wrong ("captian marlow",
    "pikachoo", "vanta blayde"). Only words the dictionary does not know are corrected, so
    a real word near an alias ("gorgonzola" beside "Gorgonzilla", "marlin") never is; the
    corrected prompt then goes through an alias automaton of its own (word boundaries,
    multi-word aliases). Thread-safe: lookups read under a lock held for microseconds."""

    def __init__(self, settings: FuzzySettings | None = None,
                 known: KnownWords | None = None) -> None:
        self.settings = settings or FuzzySettings()
        self.known = known or KnownWords(self.settings.known_zipf, self.settings.language)
        self.model_id = (f"wordfreq-{_WORDFREQ}:zipf>={self.known.min_zipf}"
                         "+osa+metaphone")
        self._aliases = AhoCorasickAliasIndex()
        self._vocabulary = _Vocabulary()
        self._keys: dict[UUID, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self.known.zipf("warm")  # wordfreq loads its word list on the first lookup

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, work_id: UUID, aliases: tuple[str, ...]) -> None:
        usable = tuple(a for a in aliases if not self._aliases.unusable((a,)))
        keys = self._vocabulary_keys(usable)
        with self._lock:
            self._drop(work_id)
            self._keys[work_id] = keys
            for key in keys:
                self._vocabulary.add(key)
        self._aliases.add(work_id, usable)

    def remove(self, work_id: UUID) -> None:
        with self._lock:
            self._drop(work_id)
        self._aliases.remove(work_id)

    def bulk_load(self, items: Iterable[tuple[UUID, tuple[str, ...]]]) -> None:
        """Replace the content with these works in one build (start-up)."""
        vocabulary = _Vocabulary()
        keys: dict[UUID, tuple[str, ...]] = {}
        loaded = []
        for work_id, aliases in items:
            for key in keys.pop(work_id, ()):
                vocabulary.remove(key)
            keys[work_id] = self._vocabulary_keys(aliases)
            for key in keys[work_id]:
                vocabulary.add(key)
            loaded.append((work_id, aliases))
        vocabulary.materialise()
        index = AhoCorasickAliasIndex()
        index.bulk_load(loaded)
        with self._lock:
            self._vocabulary, self._keys, self._aliases = vocabulary, keys, index

    def find(self, prompt: str) -> list[AliasHit]:
        corrections = self._corrections(prompt)
        if not corrections:
            return []
        text, starts, ends, spans = _apply(prompt, corrections)
        hits = []
        for hit in self._aliases.find(text):
            touched = [c for (s, e), c in zip(spans, corrections, strict=True)
                       if s < hit.end and hit.start < e]
            if not touched:
                continue  # the exact alias automaton finds this one on its own
            hits.append(AliasHit(
                work_id=hit.work_id, alias=hit.alias, start=starts[hit.start],
                end=ends[hit.end - 1], method="fuzzy", model_id=self.model_id,
                score=round(min(c.score for c in touched), 3),
                decision="review" if any(c.decision == "review" for c in touched)
                else "match"))
        return hits

    # -- internals ---------------------------------------------------------------------
    def _drop(self, work_id: UUID) -> None:
        for key in self._keys.pop(work_id, ()):
            self._vocabulary.remove(key)

    def _vocabulary_keys(self, aliases: Iterable[str]) -> tuple[str, ...]:
        keys: dict[str, None] = {}
        for alias in aliases:
            words = [alias_key(t) for t in _TOKEN.findall(alias)]
            for key in (*words, alias_key(alias)):
                if len(key) >= self.settings.min_length:
                    keys[key] = None
        return tuple(keys)

    def _unknown(self, token: str) -> bool:
        return fold(token) not in self.known

    def _rare(self, token: str) -> bool:
        """A real word, though not a common one: correcting it may be wrong."""
        zipf = self.known.zipf(fold(token))
        return self.settings.rare_zipf <= zipf < self.settings.known_zipf

    def _corrections(self, prompt: str) -> list[_Correction]:
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(prompt)]
        vocabulary = self._vocabulary
        out: list[_Correction] = []
        i = 0
        with self._lock:
            while i < len(tokens):
                start, end, token = tokens[i]
                unknown = self._unknown(token)
                found = None
                if i + 1 < len(tokens) and (unknown or self._unknown(tokens[i + 1][2])):
                    # A name split in two ("vanta blayde"): try the pair as one word first.
                    pair = alias_key(token + tokens[i + 1][2])
                    found = self._lookup(pair, vocabulary)
                    if found is not None and (self._rare(token)
                                              or self._rare(tokens[i + 1][2])):
                        found = (found[0], found[1], "review")
                    if found is not None:
                        out.append(_Correction(start, tokens[i + 1][1], *found))
                        i += 2
                        continue
                if unknown:
                    found = self._lookup(alias_key(token), vocabulary)
                    if found is not None and self._rare(token):
                        found = (found[0], found[1], "review")
                    if found is not None:
                        out.append(_Correction(start, end, *found))
                i += 1
        return out

    def _lookup(self, key: str, vocabulary: _Vocabulary) -> tuple[str, float, str] | None:
        settings = self.settings
        if len(key) < settings.min_length or key in vocabulary.count:
            return None
        limit = 1 if len(key) < settings.long_length else 2
        found = vocabulary.nearest(key, limit, settings.phonetic_extra_edits)
        if found is None:
            return None
        other, edits, by_sound = found
        score = 1.0 - edits / max(len(key), len(other))
        return other, score, "review" if by_sound else "match"


def _apply(prompt: str, corrections: list[_Correction]
           ) -> tuple[str, list[int], list[int], list[tuple[int, int]]]:
    """The prompt with the corrections made, the original start and end offset behind each
    of its characters, and where each correction landed in it."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    spans: list[tuple[int, int]] = []
    at = 0
    for c in corrections:
        parts.append(prompt[at:c.start])
        starts.extend(range(at, c.start))
        ends.extend(range(at + 1, c.start + 1))
        here = len(starts)
        parts.append(c.replacement)
        starts.extend([c.start] * len(c.replacement))
        ends.extend([c.end] * len(c.replacement))
        spans.append((here, len(starts)))
        at = c.end
    parts.append(prompt[at:])
    starts.extend(range(at, len(prompt)))
    ends.extend(range(at + 1, len(prompt) + 1))
    return "".join(parts), starts, ends, spans
