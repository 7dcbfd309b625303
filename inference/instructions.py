"""Cameo owners' free-text instructions against a prompt, when no model can compare them."""

from __future__ import annotations

from domain.prompts import InstructionVerdict


class NotConfiguredInstructionChecker:
    """`InstructionChecker` with no model: it cannot tell whether a prompt goes against the
    instructions, so it says so and the gate sends the request to a person."""

    configured: bool = False
    model_id: str = ""

    def check(self, prompt: str, instructions: str) -> InstructionVerdict:
        return InstructionVerdict("review", instructions,
                                  reason="no instruction checker is configured")
