"""Catalogue hygiene: an alias made of one everyday word ("Max", "Ace", "Star") or too few
letters is refused, with the reason; the same word with context words ("Max the Mammoth")
is accepted. Word frequencies come from wordfreq (data inside the wheel)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import wordfreq

from domain.alias_policy import COMMON_WORD, TOO_SHORT, AliasRefusal
from inference.aliases import MIN_ALIAS_LENGTH, alias_key, fold

__all__ = ["WordfreqAliasPolicy"]

_WORD = re.compile(r"[\w@$!|]+")
# Words that give no context: "The Star" is as generic as "Star".
_FILLERS = frozenset({"the", "a", "an", "of", "and", "mr", "mrs", "ms", "dr", "sir"})


@dataclass(frozen=True)
class WordfreqAliasPolicy:
    """`AliasPolicy` on word frequency. A single-word alias (fillers aside) is refused when
    it has fewer than `min_letters` letters, or when English text uses it at least
    `short_common_zipf` (words of up to `short_length` letters) or `common_zipf` (longer
    words) on wordfreq's Zipf scale (4 = ten times per million words). Measured values:
    max 4.66, ace 4.11, star 5.19, frost 3.95, mario 4.23, batman 4.22, pikachu 3.18.
    Frequency cannot tell a famous name from an everyday word, so a famous short name
    ("Mario", "Thor") needs context too; its reason says so."""

    min_letters: int = 3
    short_length: int = 5
    short_common_zipf: float = 3.5
    common_zipf: float = 4.5
    language: str = "en"

    def refusals(self, aliases: tuple[str, ...]) -> tuple[AliasRefusal, ...]:
        out = []
        for alias in aliases:
            refusal = self.judge(alias)
            if refusal is not None:
                out.append(refusal)
        return tuple(out)

    def judge(self, alias: str) -> AliasRefusal | None:
        key = alias_key(alias)
        if len(key) < max(MIN_ALIAS_LENGTH, self.min_letters):
            return AliasRefusal(alias, TOO_SHORT, (
                f"{alias!r} has fewer than {max(MIN_ALIAS_LENGTH, self.min_letters)} "
                "letters once spacing and punctuation are ignored: it would match inside "
                "ordinary prompts; register a longer name"))
        words = [fold(w) for w in _WORD.findall(alias)]
        content = [w for w in words if w and w not in _FILLERS]
        if len(content) != 1:
            return None  # several words: the others are its context
        word = content[0]
        zipf = wordfreq.zipf_frequency(word, self.language)
        limit = self.short_common_zipf if len(word) <= self.short_length else self.common_zipf
        if zipf >= limit:
            per_million = 10 ** (zipf - 3)
            return AliasRefusal(alias, COMMON_WORD, (
                f"{word!r} is an everyday word or name (about {per_million:.0f} uses per "
                f"million words of English): alone it would block ordinary prompts; "
                f"register it with context words, e.g. '{alias} the ...' or the full name"))
        return None
