"""Every before-generation rule (SPEC section 3) as a pure function of the snapshot.
Each returns pass / fail / review with its evidence and the aggregate versions it read."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from domain.gate.facts import CameoFacts, GateInput, GrantFacts, WorkFacts
from domain.generation import State

PASS, FAIL, REVIEW = "pass", "fail", "review"


@dataclass(frozen=True)
class RuleResult:
    code: str
    outcome: str
    evidence: dict[str, Any] = field(default_factory=dict)
    reads: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "outcome": self.outcome, "evidence": self.evidence,
                "reads": self.reads}


def _worst(outcomes: Iterable[str]) -> str:
    seen = set(outcomes)
    return FAIL if FAIL in seen else REVIEW if REVIEW in seen else PASS


def _categories(gate: GateInput) -> tuple[set[str], set[str]]:
    certain = {c.category for c in gate.categories if c.certain}
    uncertain = {c.category for c in gate.categories if not c.certain} - certain
    return certain, uncertain


def id_verified(gate: GateInput) -> RuleResult:
    r = gate.requester
    ok = r.verified and not r.suspended
    return RuleResult("ID-VERIFIED", PASS if ok else FAIL,
                      {"verified": r.verified, "suspended": r.suspended},
                      {f"member:{r.id}": r.version, f"identity:{r.id}": r.identity_version})


def tier_limits(gate: GateInput) -> RuleResult:
    r = gate.requester
    length_ok = 0 < gate.seconds <= r.max_clip_seconds
    quota_ok = r.used_today < r.daily_generations
    return RuleResult("TIER-LIMITS", PASS if length_ok and quota_ok else FAIL,
                      {"tier": r.tier, "seconds": gate.seconds,
                       "max_clip_seconds": r.max_clip_seconds, "used_today": r.used_today,
                       "daily_generations": r.daily_generations},
                      {f"member:{r.id}": r.version})


def _cameo_reads(c: CameoFacts) -> dict[str, int]:
    return {f"cameo:{c.owner_id}": c.cameo_version, f"identity:{c.owner_id}": c.identity_version,
            f"member:{c.owner_id}": c.owner_version}


def cameo_enabled_check(c: CameoFacts) -> tuple[str, dict[str, Any]]:
    ok = c.verified and c.enabled
    return (PASS if ok else FAIL), {"owner": str(c.owner_id), "verified": c.verified,
                                    "enabled": c.enabled}


def cameo_permission_check(c: CameoFacts, requester: UUID,
                           requester_following: frozenset[UUID]) -> tuple[str, dict[str, Any]]:
    if requester == c.owner_id:
        return PASS, {"owner": str(c.owner_id), "reason": "own cameo"}
    if requester in c.blocked:
        return FAIL, {"owner": str(c.owner_id), "reason": "blocked"}
    mutual = requester in c.owner_following and c.owner_id in requester_following
    allowed = {
        "only_me": False,
        "approved": requester in c.approved,
        "mutuals": mutual or requester in c.approved,
        "everyone": True,
    }.get(c.permission, False)
    return (PASS if allowed else FAIL), {"owner": str(c.owner_id), "permission": c.permission,
                                         "mutual": mutual}


def cameo_restrictions_check(c: CameoFacts, certain: set[str],
                             uncertain: set[str]) -> tuple[str, dict[str, Any]]:
    forbidden = set(c.forbidden_categories)
    hit, maybe = sorted(forbidden & certain), sorted(forbidden & uncertain)
    outcomes = [FAIL if hit else REVIEW if maybe else PASS]
    evidence: dict[str, Any] = {"owner": str(c.owner_id), "forbidden_hit": hit,
                                "forbidden_maybe": maybe}
    verdict = c.instruction_verdict
    if c.instructions:
        # No verdict, or one from no model, is a person's job: the case quotes the text.
        outcome = verdict.outcome if verdict is not None else REVIEW
        outcomes.append(REVIEW if outcome != PASS else PASS)
        evidence["instructions"] = {
            "text": c.instructions, "outcome": outcome,
            "checker": verdict.model_id if verdict is not None and verdict.model_id
            else "not configured",
            "score": verdict.score if verdict is not None else None,
            "reason": verdict.reason if verdict is not None else "not checked"}
    return _worst(outcomes), evidence


def _per_cameo(code: str, gate: GateInput, check: Callable[[CameoFacts], tuple[str, dict]],
               inherited: bool = False) -> RuleResult:
    cameos = [c for c in gate.cameos if c.inherited == inherited]
    outcomes, evidence, reads = [], [], {}
    for c in cameos:
        outcome, ev = check(c)
        outcomes.append(outcome)
        evidence.append({**ev, "outcome": outcome})
        reads.update(_cameo_reads(c))
    return RuleResult(code, _worst(outcomes), {"cameos": evidence}, reads)


def cameo_enabled(gate: GateInput) -> RuleResult:
    return _per_cameo("CAMEO-ENABLED", gate, cameo_enabled_check)


def cameo_permission(gate: GateInput) -> RuleResult:
    r = gate.requester
    return _per_cameo("CAMEO-PERMISSION", gate,
                      lambda c: cameo_permission_check(c, r.id, r.following))


def cameo_restrictions(gate: GateInput) -> RuleResult:
    certain, uncertain = _categories(gate)
    return _per_cameo("CAMEO-RESTRICTIONS", gate,
                      lambda c: cameo_restrictions_check(c, certain, uncertain))


def grant_covers(grant: GrantFacts, gate: GateInput, use: str,
                 certain: set[str], uncertain: set[str]) -> str:
    r = gate.requester
    audience_ok = (grant.audience == "everyone"
                   or (grant.audience == "members" and r.id in grant.members)
                   or (grant.audience == "tiers" and r.tier in grant.tiers))
    if not (grant.valid_now and audience_ok and use in grant.uses):
        return FAIL
    forbidden = set(grant.forbidden_categories)
    if forbidden & certain:
        return FAIL
    return REVIEW if forbidden & uncertain else PASS


def work_licence_check(work: WorkFacts, gate: GateInput, use: str) -> tuple[str, dict[str, Any]]:
    """A work is licensed when a grant covers this requester, use, content and date; a
    withdrawn work never is. A prompt that only may refer to it (matches near a matcher's
    threshold) is sent to a person instead of denied."""
    certain, uncertain = _categories(gate)
    evidence: dict[str, Any] = {
        "work": str(work.id), "title": work.title, "kind": work.kind,
        "matched": sorted({h.alias for h in work.hits}),
        "matches": [{"alias": h.alias, "method": h.method, "score": h.score,
                     "decision": h.decision, "model_id": h.model_id} for h in work.hits]}
    if work.visual:
        evidence["found_in"] = "frames"
    if work.withdrawn:
        best, evidence["reason"] = FAIL, "withdrawn"
    else:
        per_grant = {str(g.id): grant_covers(g, gate, use, certain, uncertain)
                     for g in work.grants}
        evidence["grants"] = per_grant
        best = PASS if PASS in per_grant.values() else REVIEW if REVIEW in per_grant.values() \
            else FAIL
        if best == FAIL:
            evidence["reason"] = "no grant covers this requester, use, content and date"
        if any(g.attribution_required for g in work.grants if per_grant[str(g.id)] == PASS):
            evidence["attribution_required"] = True
    if best == FAIL and work.hits and all(h.decision == REVIEW for h in work.hits):
        best = REVIEW
        evidence["near_threshold"] = True
    return best, evidence


def _work_reads(work: WorkFacts) -> dict[str, int]:
    reads = {f"work:{work.id}": work.version}
    reads.update({f"grant:{g.id}": g.version for g in work.grants})
    return reads


def _per_work(code: str, gate: GateInput, works: list[WorkFacts],
              check: Callable[[WorkFacts], tuple[str, dict]]) -> RuleResult:
    outcomes, evidence, reads = [], [], {}
    for w in works:
        outcome, ev = check(w)
        outcomes.append(outcome)
        evidence.append({**ev, "outcome": outcome})
        reads.update(_work_reads(w))
    return RuleResult(code, _worst(outcomes), {"works": evidence}, reads)


def work_licensed(gate: GateInput) -> RuleResult:
    works = [w for w in gate.works if not w.inherited and w.kind != "likeness"]
    result = _per_work("WORK-LICENSED", gate, works,
                       lambda w: work_licence_check(w, gate, "generate"))
    if not gate.semantic_matcher_configured:
        # Nothing looked for works the prompt describes without naming them: with works
        # registered, a person decides (fail closed); the trace says why.
        result.evidence["semantic_matcher"] = "not configured"
        if gate.registered_works:
            result.evidence["unchecked"] = (
                f"{gate.registered_works} registered works could be described without "
                "being named, and no matcher read the prompt for them")
            result = replace(result, outcome=_worst([result.outcome, REVIEW]))
    return result


def public_figure(gate: GateInput) -> RuleResult:
    cameo_owners = {c.owner_id for c in gate.cameos}

    def check(w: WorkFacts) -> tuple[str, dict[str, Any]]:
        if w.likeness_member_id is not None and w.likeness_member_id in cameo_owners:
            return PASS, {"work": str(w.id), "title": w.title, "reason": "own cameo"}
        return work_licence_check(w, gate, "generate")

    works = [w for w in gate.works if not w.inherited and w.kind == "likeness"]
    return _per_work("PUBLIC-FIGURE", gate, works, check)


def remix_consent(gate: GateInput) -> RuleResult:
    """A remix inherits everyone and every work its source features (at any depth): each
    must still allow it, for the `remix` use. A source held for review waits for a person;
    one that is no longer published cannot be remixed."""
    if gate.remix is None:
        return RuleResult("REMIX-CONSENT", PASS, {"remix": False})
    source = gate.remix.state
    r = gate.requester
    outcomes = [PASS if source == State.PUBLISHED
                else REVIEW if source in (State.HELD, State.PENDING_REVIEW) else FAIL]
    evidence: dict[str, Any] = {"source": str(gate.remix.id), "source_state": str(source)}
    reads: dict[str, int] = {f"generation:{gate.remix.id}": gate.remix.version}
    certain, uncertain = _categories(gate)
    cameo_ev = []
    for c in (c for c in gate.cameos if c.inherited):
        outs = [cameo_enabled_check(c)[0], cameo_permission_check(c, r.id, r.following)[0],
                cameo_restrictions_check(c, certain, uncertain)[0]]
        outcomes.append(_worst(outs))
        cameo_ev.append({"owner": str(c.owner_id), "outcome": _worst(outs)})
        reads.update(_cameo_reads(c))
    work_ev = []
    for w in (w for w in gate.works if w.inherited):
        out, ev = work_licence_check(w, gate, "remix")
        if w.likeness_member_id is not None and w.likeness_member_id in {
                c.owner_id for c in gate.cameos}:
            out = PASS
        outcomes.append(out)
        work_ev.append({**ev, "outcome": out})
        reads.update(_work_reads(w))
    evidence.update(cameos=cameo_ev, works=work_ev)
    return RuleResult("REMIX-CONSENT", _worst(outcomes), evidence, reads)


RULES: tuple[Callable[[GateInput], RuleResult], ...] = (
    id_verified, tier_limits, cameo_enabled, cameo_permission, cameo_restrictions,
    work_licensed, public_figure, remix_consent,
)
