"""Cameo owners' free-text instructions against a prompt on the MiniLM sentence model: each
instruction sentence, stripped of its "never show me", is compared with the prompt; a close
one is a likely conflict (review, quoted), anything else passes with its score."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from domain.prompts import InstructionVerdict
from inference.semantic import TextEmbedder

__all__ = ["EmbeddingInstructionChecker", "instruction_sentences"]

_SENTENCES = re.compile(r"[^.;!?\n]+")
# The instruction's frame, not its subject: "Never show me eating meat" is about eating
# meat; a prompt about eating meat is what conflicts with it, negated or not.
_FRAME = re.compile(
    r"^\s*(?:please\s+)?(?:i\s+(?:do\s+not|don'?t)\s+want\s+(?:to\s+)?|never\s+|don'?t\s+|"
    r"do\s+not\s+|nothing\s+|no\s+|not\s+|avoid\s+|keep\s+)"
    r"(?:(?:show|put|make|depict|have|let|use|appear\s+in|see|be)\s+)?(?:me\s+|my\s+|of\s+me\s+)?",
    re.IGNORECASE)


def instruction_sentences(instructions: str) -> list[tuple[str, str]]:
    """(sentence as written, its subject) for each sentence of the instructions."""
    out = []
    for match in _SENTENCES.finditer(instructions):
        sentence = match.group().strip(" ,")
        if len(sentence) < 3:
            continue
        subject = _FRAME.sub("", sentence).strip(" ,") or sentence
        out.append((sentence, subject))
    return out


@dataclass(frozen=True)
class InstructionThresholds:
    """Cosine similarity of the prompt to an instruction's subject at or above which the
    prompt likely goes against it. Chosen on benchmarks/data/instruction_pairs.jsonl."""

    review: float = 0.25


class EmbeddingInstructionChecker:
    """`InstructionChecker` on a sentence model. It never passes a prompt it could not
    compare: empty instructions pass (there is nothing to go against), but a prompt the
    model cannot embed raises, and the gate fails closed on errors."""

    configured = True

    def __init__(self, embedder: TextEmbedder,
                 thresholds: InstructionThresholds | None = None) -> None:
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.thresholds = thresholds or InstructionThresholds()

    def check(self, prompt: str, instructions: str) -> InstructionVerdict:
        sentences = instruction_sentences(instructions)
        if not sentences:
            return InstructionVerdict("pass", instructions, None, self.model_id,
                                      "no instructions to compare")
        subjects = self.embedder.encode([s for _, s in sentences])
        scores = subjects @ self.embedder.embed(prompt)
        best = int(np.argmax(scores))
        score = round(float(scores[best]), 3)
        if score >= self.thresholds.review:
            return InstructionVerdict(
                "review", sentences[best][0], score, self.model_id,
                f"the prompt is close to the instruction {sentences[best][0]!r} "
                f"(similarity {score} >= {self.thresholds.review})")
        return InstructionVerdict(
            "pass", instructions, score, self.model_id,
            f"no instruction is close to the prompt (highest similarity {score} < "
            f"{self.thresholds.review})")
