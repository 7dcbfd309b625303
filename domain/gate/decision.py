"""Combines the rules into one decision: any fail denies, else any review holds for a
person, else allow. The trace keeps every rule, passed ones included."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from domain.gate.facts import GateInput
from domain.gate.rules import FAIL, REVIEW, RULES, RuleResult


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

    @property
    def review_keys(self) -> tuple[str, ...]:
        return review_keys(self.results)


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


def review_key(result: RuleResult) -> str:
    """Names what a rule asking for a person found (its code and a digest of its
    evidence): a review a person cleared is not asked again while its key is the same, and
    is asked again as soon as the evidence changes (a new restriction, another grant)."""
    text = json.dumps(result.evidence, sort_keys=True, default=str)
    return f"{result.code}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def review_keys(results: tuple[RuleResult, ...]) -> tuple[str, ...]:
    return tuple(review_key(r) for r in results if r.outcome == REVIEW)
