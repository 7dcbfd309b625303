"""Ports and value objects for reading a generation prompt: which protected works it names
and which content categories it falls in. Implementations live in `inference/`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

CATEGORIES = ("violence", "sexual", "political", "hate", "self_harm", "minors")


@dataclass(frozen=True)
class AliasHit:
    """One protected work found in a prompt: which alias matched, and where (character
    offsets into the original prompt, end exclusive)."""

    work_id: UUID
    alias: str
    start: int
    end: int
    method: str = "alias"  # "alias" | "fuzzy" (a misspelt alias) | "semantic"
    score: float = 1.0
    # "match": the prompt refers to the work; "review": it may (near the matcher's
    # threshold), so a person decides instead of the gate denying.
    decision: str = "match"
    model_id: str = ""  # what judged a fuzzy or semantic hit, for the trace


@dataclass(frozen=True)
class CategoryLabel:
    """A content category assigned to a prompt. `certain` is False when the evidence is weak
    (an ambiguous word): the gate sends such prompts to review instead of deciding."""

    category: str
    certain: bool
    evidence: tuple[str, ...] = ()


class WorkAliasIndex(Protocol):
    """Finds registered works named in a prompt by alias, in time independent of the number
    of works. Tolerates case, accents, spacing, punctuation and letter/digit substitutions."""

    def unusable(self, aliases: tuple[str, ...]) -> tuple[str, ...]:
        """The aliases this index would refuse (too short once normalised)."""
        ...

    def add(self, work_id: UUID, aliases: tuple[str, ...]) -> None: ...

    def bulk_load(self, items: Iterable[tuple[UUID, tuple[str, ...]]]) -> None:
        """Adds many works at once (the first catch-up with the log)."""
        ...

    def remove(self, work_id: UUID) -> None: ...

    def find(self, prompt: str) -> list[AliasHit]: ...


class SemanticWorkMatcher(Protocol):
    """Finds works a prompt describes without naming them (an embedding model). `configured`
    is False when no real model is loaded: the gate records that it could not look. Fed
    from the log like the alias index (withdrawn works stay in it: they stay protected)."""

    configured: bool
    model_id: str

    def add(self, work_id: UUID, aliases: tuple[str, ...], description: str) -> None: ...

    def bulk_load(self, works: Iterable[tuple[UUID, tuple[str, ...], str]]) -> None:
        """Replaces the content with these works (start-up: one batch, not one by one)."""
        ...

    def remove(self, work_id: UUID) -> None: ...

    def find(self, prompt: str) -> list[AliasHit]: ...


@dataclass(frozen=True)
class InstructionVerdict:
    """A cameo owner's free-text instructions compared with a prompt. `outcome` is "pass"
    (clearly unrelated) or "review" (a likely conflict, or nothing could check)."""

    outcome: str
    instruction: str
    score: float | None = None
    model_id: str = ""
    reason: str = ""


class InstructionChecker(Protocol):
    """Compares a prompt with a cameo owner's instructions. Not configured: every prompt
    naming that cameo goes to a person, with the instructions quoted."""

    configured: bool
    model_id: str

    def check(self, prompt: str, instructions: str) -> InstructionVerdict: ...


class PromptClassifier(Protocol):
    """Assigns content categories (see CATEGORIES) to a prompt."""

    def classify(self, prompt: str) -> list[CategoryLabel]: ...
