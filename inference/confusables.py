"""Unicode confusables for prompt screening (the idea of UTS #39's skeleton, for Latin): a
character that looks like a Latin letter or digit is read as it, so Zorblax spelt with a
Cyrillic o and x is still found. The data is the Unicode Consortium's confusables list as
packaged by `confusable_homoglyphs` (its confusables.json, read from the installed package)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files


@lru_cache(maxsize=1)
def latin_lookalikes() -> dict[str, str]:
    """Each non-ASCII character listed as confusable with an ASCII letter or digit, mapped
    to it (lowercase; a letter rather than a digit when both are listed)."""
    text = files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    table: dict[str, str] = {}
    for char, entries in json.loads(text).items():
        if len(char) != 1 or char.isascii():
            continue
        targets = [e["c"] for e in entries
                   if len(e["c"]) == 1 and e["c"].isascii() and e["c"].isalnum()]
        if targets:
            letters = [t for t in targets if t.isalpha()]
            table[char] = (letters or targets)[0].lower()
    return table


def latin_skeleton(ch: str) -> str:
    return latin_lookalikes().get(ch, ch)
