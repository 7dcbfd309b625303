"""Combines the rules into one decision: any fail denies, else any review holds for a
person, else allow. The trace keeps every rule, passed ones included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.gate.facts import GateInput
from domain.gate.rules import FAIL, RULES, RuleResult


@dataclass(frozen=True)
class Decision:
    outcome: str  # "allow" | "deny" | "review"
    results: tuple[RuleResult, ...]

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.results if r.outcome == FAIL)

    @property
    def needs_review(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.results if r.outcome == "review")

    @property
    def rule_codes(self) -> tuple[str, ...]:
        return self.failed if self.outcome == "deny" else self.needs_review

    @property
    def consent_versions(self) -> dict[str, int]:
        versions: dict[str, int] = {}
        for r in self.results:
            versions.update(r.reads)
        return versions

    def trace(self) -> tuple[dict[str, Any], ...]:
        return tuple(r.as_dict() for r in self.results)


def evaluate(gate: GateInput) -> Decision:
    results = tuple(rule(gate) for rule in RULES)
    if any(r.outcome == FAIL for r in results):
        outcome = "deny"
    elif any(r.outcome == "review" for r in results):
        outcome = "review"
    else:
        outcome = "allow"
    return Decision(outcome, results)


def redact(trace: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """What the requester may see: rule, outcome and own-facing evidence; not the versions
    of other people's aggregates, nor why a specific person refused (blocked vs not
    approved both read as not permitted)."""
    out = []
    for rule in trace:
        evidence = rule.get("evidence", {})
        cameos = [{"owner": c.get("owner"), "outcome": c.get("outcome")}
                  for c in evidence.get("cameos", [])]
        shown = {k: v for k, v in evidence.items() if k not in ("cameos",)}
        if cameos:
            shown["cameos"] = cameos
        out.append({"code": rule["code"], "outcome": rule["outcome"], "evidence": shown})
    return out
