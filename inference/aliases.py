"""Finding protected works named in a prompt: one text normaliser shared by aliases and
keywords, Aho-Corasick phrase matching on word boundaries, and the live alias index."""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar
from uuid import UUID

import ahocorasick

from domain.prompts import AliasHit
from inference.confusables import latin_skeleton

__all__ = [
    "MIN_ALIAS_LENGTH",
    "AhoCorasickAliasIndex",
    "IndexStats",
    "NormalisedText",
    "NotConfiguredSemanticMatcher",
    "PhraseAutomaton",
    "alias_key",
    "fold",
    "normalise",
]

log = logging.getLogger(__name__)

MIN_ALIAS_LENGTH = 3

# Leetspeak seen in evasion attempts. Applied everywhere (prompt and alias alike), so it only
# has to be consistent, not linguistically right: "1984" becomes "i9ba" on both sides.
_SUBSTITUTIONS = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}
)

# How each character of the original text takes part in matching.
_SEP = 0  # space, punctuation: dropped, and a word boundary
_WORD = 1  # letters and digits: kept
_JOINER = 2  # a lone combining mark: belongs to the previous character's word, emits nothing
_SOFT = 3  # "@", "$": kept as a letter, yet a word may also start after / end before them
_MAYBE_I = 4  # "!", "|": an "i" between letters ("P!kachu"), punctuation otherwise
_GLYPH = 5  # a letter of a script written without spaces: a word may start or end anywhere

# Scripts written without spaces between words, by Unicode character name prefix. Without
# this, "ピカチュウ" could never be found inside a Japanese sentence.
_UNSPACED_SCRIPTS = (
    "CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "HIRAGANA", "KATAKANA", "THAI",
    "LAO", "KHMER", "MYANMAR",
)


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> tuple[int, str]:
    """Kind and normalised output of one character; cached because prompts reuse few."""
    if ch in "!|":
        return _MAYBE_I, "i"
    if ch in "@$":
        return _SOFT, ch.translate(_SUBSTITUTIONS)
    if unicodedata.combining(ch):
        return _JOINER, ""
    # Casefolding can yield new decomposable characters, hence NFKD on both sides of it;
    # lookalikes of Latin letters are read as them before and after (the Greek capital
    # zeta looks like Z, its small form like nothing Latin).
    out = []
    for c in unicodedata.normalize("NFKD", unicodedata.normalize(
            "NFKD", latin_skeleton(ch)).casefold()):
        if unicodedata.combining(c):
            continue
        sub = latin_skeleton(c).translate(_SUBSTITUTIONS)
        # Spacing marks (Indic vowel signs) are letters of their word, unlike accents.
        if sub.isalnum() or unicodedata.category(sub).startswith("M"):
            out.append(sub)
    if not out:
        return _SEP, ""
    unspaced = unicodedata.name(out[0], "").startswith(_UNSPACED_SCRIPTS)
    return (_GLYPH if unspaced else _WORD), "".join(out)


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """A text compacted for matching. `compact[k]` stands for a run of equal characters of
    the original; `starts[k]` is the original offset where a match beginning at k begins (-1
    when no word starts there) and `ends[k]` the end offset for a match ending at k (-1 when
    no word ends there)."""

    original: str
    compact: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def _classify(text: str) -> tuple[list[int], list[str], Sequence[int]]:
    """Kinds and outputs of the text's units, and `offsets` where unit u covers
    text[offsets[u]:offsets[u + 1]]. A unit is one character plus any combining marks after
    it; the kinds left are _SEP, _WORD, _SOFT and _GLYPH."""
    folded = [_fold_char(ch) for ch in text]
    kinds = [k for k, _ in folded]
    outs = [o for _, o in folded]
    offsets: Sequence[int] = range(len(text) + 1)
    if _JOINER in kinds:  # rare: accents typed as separate characters
        merged_kinds: list[int] = []
        merged_outs: list[str] = []
        starts: list[int] = []
        for i, (kind, out) in enumerate(folded):
            if kind != _JOINER:
                merged_kinds.append(kind)
                merged_outs.append(out)
                starts.append(i)
            elif not merged_kinds or merged_kinds[-1] == _SEP:
                merged_kinds.append(_SEP)  # a mark on nothing is just punctuation
                merged_outs.append("")
                starts.append(i)
        kinds, outs, offsets = merged_kinds, merged_outs, [*starts, len(text)]
    if _MAYBE_I in kinds:
        last = len(kinds) - 1
        for i, kind in enumerate(kinds):
            if kind == _MAYBE_I:
                between = (
                    0 < i < last
                    and kinds[i - 1] in (_WORD, _SOFT)
                    and outs[i - 1][-1].isalpha()
                    and kinds[i + 1] in (_WORD, _SOFT)
                    and outs[i + 1][0].isalpha()
                )
                kinds[i] = _WORD if between else _SEP
    return kinds, outs, offsets


_RUNS = re.compile(r"(.)\1+", re.DOTALL)


def fold(text: str) -> str:
    """Accents, case, leetspeak, spacing and punctuation folded away, doubled letters kept
    (so that a dictionary still knows the word): "C4ptain" -> "captain"."""
    kinds, outs, _ = _classify(text)
    return "".join(o for k, o in zip(kinds, outs, strict=True) if k != _SEP)


def alias_key(phrase: str) -> str:
    """The form a phrase is indexed under; two phrases with the same key are the same name.
    Equal to `normalise(phrase).compact`, computed without the offset bookkeeping."""
    kinds, outs, _ = _classify(phrase)
    return _RUNS.sub(r"\1", "".join(o for k, o in zip(kinds, outs, strict=True) if k != _SEP))


def normalise(text: str) -> NormalisedText:
    """Accents, case, leetspeak, spacing, punctuation and doubled letters all folded away,
    keeping a map back to word boundaries of the original `text`."""
    kinds, outs, offsets = _classify(text)
    n = len(kinds)

    # "@pikachu" must still name Pikachu, so a word may start just after leading soft
    # characters and end just before trailing ones.
    start_ok = [False] * n
    prev, prev_ok = _SEP, True
    for i, kind in enumerate(kinds):
        if kind != _SEP:
            prev_ok = start_ok[i] = (
                kind == _GLYPH or prev in (_SEP, _GLYPH) or (prev == _SOFT and prev_ok)
            )
        prev = kind
    end_ok = [False] * n
    prev, prev_ok = _SEP, True
    for i in range(n - 1, -1, -1):
        kind = kinds[i]
        if kind != _SEP:
            prev_ok = end_ok[i] = (
                kind == _GLYPH or prev in (_SEP, _GLYPH) or (prev == _SOFT and prev_ok)
            )
        prev = kind

    compact: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    previous = ""
    for i, kind in enumerate(kinds):
        if kind == _SEP:
            continue
        out = outs[i]
        last = len(out) - 1
        for j, c in enumerate(out):
            s = offsets[i] if j == 0 and start_ok[i] else -1
            e = offsets[i + 1] if j == last and end_ok[i] else -1
            if c == previous:
                # A run of one letter is one position; it may straddle words ("book keeper"),
                # so keep the tightest boundaries inside the run that words allow.
                if s >= 0:
                    starts[-1] = s
                if e >= 0 and ends[-1] < 0:
                    ends[-1] = e
            else:
                compact.append(c)
                starts.append(s)
                ends.append(e)
                previous = c
    return NormalisedText(text, "".join(compact), tuple(starts), tuple(ends))


P = TypeVar("P")


class PhraseAutomaton(Generic[P]):
    """Immutable Aho-Corasick automaton (pyahocorasick) over normalised phrase keys: one
    pass over the prompt finds every key at once, so lookup cost does not grow with the
    number of phrases. Matches are kept only where they begin and end on word boundaries."""

    __slots__ = ("_automaton", "_keys")

    def __init__(self, entries: Iterable[tuple[str, P]]) -> None:
        """`entries` are (key, payload) pairs with keys already normalised (`alias_key`);
        payloads sharing a key are reported together."""
        grouped: dict[str, list[P]] = {}
        for key, payload in entries:
            if not key:
                raise ValueError("empty phrase key")
            grouped.setdefault(key, []).append(payload)
        self._keys = len(grouped)
        self._automaton: Any = None
        if grouped:
            automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY)
            for key, payloads in grouped.items():
                # One flat tuple per key: at 500,000 keys a nested one costs ~25 MB more.
                automaton.add_word(key, (len(key), *payloads))
            automaton.make_automaton()
            self._automaton = automaton

    def __len__(self) -> int:
        return self._keys

    def find(self, text: NormalisedText) -> Iterator[tuple[int, int, tuple[P, ...]]]:
        """(start, end, payloads) per whole-word match, offsets into `text.original`."""
        if self._automaton is None or not text.compact:
            return
        starts, ends = text.starts, text.ends
        for last, value in self._automaton.iter(text.compact):
            start = starts[last - value[0] + 1]
            end = ends[last]
            if start >= 0 and end >= 0:
                yield start, end, value[1:]

    def memory_bytes(self) -> int:
        """Size of the automaton's own nodes (payload objects not included)."""
        return int(self._automaton.get_stats()["total_size"]) if self._automaton else 0


# Works are held as `UUID.int` and in plain tuples of ints and strings throughout: CPython's
# cyclic garbage collector stops tracking such tuples, but not objects or tuples holding
# UUIDs. At 500,000 aliases that makes a full collection (which stalls every thread) take a
# few milliseconds instead of ~0.4 s.

# One version of a work's aliases: (work, keys, payloads) where payloads[i] is (work, alias
# as registered) for keys[i], built once and shared by every automaton the work goes into.
# Compared by identity: each `add` builds a new tuple, which is how a rebuilt base tells
# whether its copy of a work is still current.
_Work = tuple[int, tuple[str, ...], tuple[tuple[int, str], ...]]
_Automaton = PhraseAutomaton[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Everything `find` reads, published as one object so readers never need the lock."""

    base: tuple[_Automaton, ...]  # shards of the base, split by key
    delta: _Automaton
    dead: frozenset[int]  # works whose entries in `base` are outdated


@dataclass(frozen=True)
class IndexStats:
    """Sizes of the index's parts, for metrics and tests."""

    works: int
    base_keys: int
    delta_aliases: int
    tombstones: int
    base_memory_bytes: int


def unusable_aliases(aliases: Iterable[str]) -> tuple[str, ...]:
    """Aliases too short, once normalised, to be told apart from ordinary words."""
    return tuple(a for a in aliases if len(alias_key(a)) < MIN_ALIAS_LENGTH)


def _prepare(work_id: UUID, aliases: Iterable[str], skip_unusable: bool = False) -> _Work:
    entries: dict[str, str] = {}
    for alias in aliases:
        key = alias_key(alias)
        if len(key) < MIN_ALIAS_LENGTH:
            if skip_unusable:
                continue
            raise ValueError(
                f"alias {alias!r} of work {work_id} normalises to {key!r}: shorter than "
                f"{MIN_ALIAS_LENGTH} characters it would match almost any prompt"
            )
        entries.setdefault(key, alias)
    work = work_id.int
    return work, tuple(entries), tuple((work, alias) for alias in entries.values())


def _automaton_for(works: Iterable[_Work], shard: int = 0, shards: int = 1) -> _Automaton:
    return PhraseAutomaton(
        (key, payload)
        for _, keys, payloads in works
        for key, payload in zip(keys, payloads, strict=True)
        if shards == 1 or hash(key) % shards == shard
    )


class AhoCorasickAliasIndex:
    """`WorkAliasIndex` on pyahocorasick automata, so `find` costs one pass over the prompt
    per automaton whatever the number of works. An automaton cannot change once built, so
    the index is a large base plus a small delta rebuilt on every `add`; removed or replaced
    works are tombstones filtered at query time. When the delta's aliases or the tombstones
    outnumber `fold_threshold`, a new base is built off to the side (in a background thread
    unless `background_fold=False`) and swapped in. `find` reads one immutable snapshot and
    takes no lock, so it is safe from any number of threads while others add and remove.

    The base is split by key into `base_shards` automata. Building and freeing an automaton
    are C calls that hold the GIL (about 0.6 s each at 500,000 aliases), which would stall
    every thread; shards bound each stall to a fraction of that, for a few microseconds
    more per `find`."""

    def __init__(
        self, fold_threshold: int = 2_000, background_fold: bool = True, base_shards: int = 8
    ) -> None:
        if fold_threshold < 1 or base_shards < 1:
            raise ValueError("fold_threshold and base_shards must be positive")
        self._fold_threshold = fold_threshold
        self._background_fold = background_fold
        self._shards = base_shards
        self._lock = threading.Lock()  # guards the fields below; held briefly
        self._rebuild_lock = threading.Lock()  # one base rebuild at a time
        self._live: dict[int, _Work] = {}
        self._base_members: Mapping[int, _Work] = {}  # what the base automata were built from
        self._base: tuple[_Automaton, ...] = ()
        self._delta_members: dict[int, _Work] = {}
        self._dead: set[int] = set()
        self._changed: set[int] | None = None  # works touched while a rebuild runs
        self._folding = False
        self._snapshot = _Snapshot(self._base, PhraseAutomaton(()), frozenset())

    def __len__(self) -> int:
        return len(self._live)

    def unusable(self, aliases: tuple[str, ...]) -> tuple[str, ...]:
        return unusable_aliases(aliases)

    def add(self, work_id: UUID, aliases: tuple[str, ...]) -> None:
        """Index `work_id` under `aliases`, replacing any aliases it had. Raises ValueError,
        leaving the index unchanged, when an alias is too short to be distinctive."""
        work = _prepare(work_id, aliases)
        with self._lock:
            self._live[work_id.int] = work
            self._touch(work_id.int)
            self._delta_members[work_id.int] = work
            self._publish()
        self._maybe_fold()

    def remove(self, work_id: UUID) -> None:
        """Stop finding `work_id`; unknown ids are ignored."""
        work = work_id.int
        with self._lock:
            if self._live.pop(work, None) is None:
                # Still recorded, so that a bulk load in progress does not bring it back.
                if self._changed is not None:
                    self._changed.add(work)
                return
            self._touch(work)
            self._delta_members.pop(work, None)
            self._publish()
        self._maybe_fold()

    def bulk_load(self, items: Iterable[tuple[UUID, tuple[str, ...]]]) -> None:
        """Index many works with a single base build (start-up from the event store). Later
        items replace earlier ones for the same work; an `add` or `remove` made while the
        load runs wins over it. Stored works are loaded as they are: an alias that the
        current normalisation finds too short is left out rather than failing a start."""
        extra: dict[int, _Work] = {}
        for work_id, aliases in items:
            extra[work_id.int] = _prepare(work_id, aliases, skip_unusable=True)
        self._rebuild(extra)

    def fold(self) -> None:
        """Merge the delta into a new base and purge tombstones, now, in this thread."""
        self._rebuild({})

    def find(self, prompt: str) -> list[AliasHit]:
        """Every work named in `prompt` and where, in order of position. Takes no lock."""
        text = normalise(prompt)
        snapshot = self._snapshot
        seen: set[tuple[int, int, int]] = set()
        hits: list[AliasHit] = []
        no_tombstones: frozenset[int] = frozenset()
        for automaton, dead in (
            *((shard, snapshot.dead) for shard in snapshot.base),
            (snapshot.delta, no_tombstones),
        ):
            for start, end, payloads in automaton.find(text):
                for work, alias in payloads:
                    if work in dead or (work, start, end) in seen:
                        continue
                    seen.add((work, start, end))
                    hits.append(AliasHit(work_id=UUID(int=work), alias=alias, start=start, end=end))
        hits.sort(key=lambda h: (h.start, h.end, h.work_id.int))
        return hits

    def stats(self) -> IndexStats:
        with self._lock:
            return IndexStats(
                works=len(self._live),
                base_keys=sum(len(shard) for shard in self._base),
                delta_aliases=self._delta_aliases(),
                tombstones=len(self._dead),
                base_memory_bytes=sum(shard.memory_bytes() for shard in self._base),
            )

    # -- internals; _touch, _delta_aliases and _publish expect self._lock to be held --

    def _touch(self, work: int) -> None:
        if work in self._base_members:
            self._dead.add(work)
        if self._changed is not None:
            self._changed.add(work)

    def _delta_aliases(self) -> int:
        return sum(len(keys) for _, keys, _ in self._delta_members.values())

    def _publish(self) -> None:
        # The delta is small by construction (bounded by the fold threshold), which is what
        # makes rebuilding it on every change affordable.
        delta = _automaton_for(self._delta_members.values())
        self._snapshot = _Snapshot(self._base, delta, frozenset(self._dead))

    def _maybe_fold(self) -> None:
        with self._lock:
            if self._folding or (
                self._delta_aliases() <= self._fold_threshold
                and len(self._dead) <= self._fold_threshold
            ):
                return
            self._folding = True
        if self._background_fold:
            threading.Thread(target=self._fold_then_clear, name="alias-fold", daemon=True).start()
        else:
            self._fold_then_clear()

    def _fold_then_clear(self) -> None:
        try:
            self._rebuild({})
        except Exception:  # a failed fold only costs speed; the old base stays correct
            log.exception("alias index fold failed")
        finally:
            with self._lock:
                self._folding = False
        # Changes made while folding may already call for the next fold.
        self._maybe_fold()

    def _rebuild(self, extra: dict[int, _Work]) -> None:
        with self._rebuild_lock:
            with self._lock:
                target = dict(self._live)
                changed: set[int] = set()
                self._changed = changed
            try:
                target.update(extra)
                base = []
                for shard in range(self._shards):
                    base.append(_automaton_for(target.values(), shard, self._shards))
                    time.sleep(0)  # let finds run between the GIL-holding shard builds
            except BaseException:
                with self._lock:
                    self._changed = None
                raise
            with self._lock:
                live = self._live
                for key, work in extra.items():
                    if key not in changed:
                        live[key] = work
                retired = list(self._base)
                # Only works changed during the build can differ between `target` and `live`.
                self._base_members = target
                self._base = tuple(base)
                self._dead = {
                    w for w in changed if w in target and live.get(w) is not target[w]
                }
                self._delta_members = {
                    w: live[w] for w in changed if w in live and target.get(w) is not live[w]
                }
                self._changed = None
                self._publish()
        # Free the old shards here, one at a time, rather than all at once in whichever
        # reader drops the last reference. Best effort: a reader still holding the old
        # snapshot frees what remains when it finishes.
        base.clear()
        while retired:
            retired.pop()
            time.sleep(0)


class NotConfiguredSemanticMatcher:
    """`SemanticWorkMatcher` used when no embedding model is loaded: it finds nothing and
    says so through `configured`, so the gate can record that it could not look."""

    configured: bool = False
    model_id: str = ""

    def add(self, work_id: UUID, aliases: tuple[str, ...], description: str) -> None:
        """Nothing to index without a model."""

    def bulk_load(self, works: Iterable[tuple[UUID, tuple[str, ...], str]]) -> None:
        """Nothing to index without a model."""

    def remove(self, work_id: UUID) -> None:
        """Nothing was indexed."""

    def find(self, prompt: str) -> list[AliasHit]:
        return []
