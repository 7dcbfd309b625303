"""Which names a rights holder may register as a work's aliases: a name that is too short
or an everyday word would turn ordinary prompts into false blocks once indexed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

TOO_SHORT = "too_short"
COMMON_WORD = "common_word"


@dataclass(frozen=True)
class AliasRefusal:
    """One refused alias, why (`kind`: TOO_SHORT or COMMON_WORD) and what would do."""

    alias: str
    kind: str
    reason: str


class AliasPolicy(Protocol):
    """Judges aliases before they are registered (problem code `alias-too-generic`)."""

    def refusals(self, aliases: tuple[str, ...]) -> tuple[AliasRefusal, ...]: ...
