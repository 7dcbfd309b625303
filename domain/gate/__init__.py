"""The pre-generation gate: pure rules over a consistent snapshot of consent state."""

from domain.gate.decision import Decision, evaluate
from domain.gate.facts import CameoFacts, GateInput, GrantFacts, RequesterFacts, WorkFacts
from domain.gate.rules import RULES, RuleResult

__all__ = ["RULES", "CameoFacts", "Decision", "GateInput", "GrantFacts", "RequesterFacts",
           "RuleResult", "WorkFacts", "evaluate"]
