"""Each before-generation rule as a pure function, and how they combine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from domain.gate import (
    CameoFacts,
    GateInput,
    GrantFacts,
    RequesterFacts,
    WorkFacts,
    evaluate,
    rules,
)
from domain.gate.decision import redact
from domain.gate.facts import RemixFacts
from domain.prompts import AliasHit, CategoryLabel

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
ME = uuid4()


def requester(**kw: object) -> RequesterFacts:
    base = RequesterFacts(id=ME, version=3, identity_version=4, verified=True, suspended=False,
                          tier="free", max_clip_seconds=10, daily_generations=10,
                          used_today=0, following=frozenset())
    return replace(base, **kw)  # type: ignore[arg-type]


def cameo(owner: UUID | None = None, **kw: object) -> CameoFacts:
    base = CameoFacts(owner_id=owner or uuid4(), owner_version=2, owner_following=frozenset(),
                      identity_version=4, verified=True, cameo_version=2, enabled=True,
                      permission="everyone", approved=frozenset(), blocked=frozenset(),
                      forbidden_categories=())
    return replace(base, **kw)  # type: ignore[arg-type]


def grant(**kw: object) -> GrantFacts:
    base = GrantFacts(id=uuid4(), version=1, valid_now=True, audience="everyone",
                      members=frozenset(), tiers=(), uses=("generate",),
                      forbidden_categories=(), attribution_required=False)
    return replace(base, **kw)  # type: ignore[arg-type]


def work(*grants: GrantFacts, **kw: object) -> WorkFacts:
    wid = uuid4()
    base = WorkFacts(id=wid, version=2, title="Comet", kind="character", withdrawn=False,
                     likeness_member_id=None, grants=grants,
                     hits=(AliasHit(wid, "comet", 0, 5),))
    return replace(base, **kw)  # type: ignore[arg-type]


def gate(**kw: object) -> GateInput:
    base = GateInput(requester=requester(), prompt="a walk", seconds=5, now=NOW)
    return replace(base, **kw)  # type: ignore[arg-type]


def violence(certain: bool = True) -> tuple[CategoryLabel, ...]:
    return (CategoryLabel("violence", certain, ("fight",)),)


def test_id_verified_fails_for_unverified_or_suspended_requesters():
    assert rules.id_verified(gate()).outcome == "pass"
    assert rules.id_verified(gate(requester=requester(verified=False))).outcome == "fail"
    assert rules.id_verified(gate(requester=requester(suspended=True))).outcome == "fail"


def test_tier_limits_check_clip_length_and_daily_quota():
    assert rules.tier_limits(gate(seconds=10)).outcome == "pass"
    assert rules.tier_limits(gate(seconds=11)).outcome == "fail"
    assert rules.tier_limits(gate(seconds=0)).outcome == "fail"
    assert rules.tier_limits(gate(requester=requester(used_today=10))).outcome == "fail"


def test_cameo_enabled_needs_a_verified_owner_with_an_enabled_cameo():
    assert rules.cameo_enabled(gate(cameos=(cameo(),))).outcome == "pass"
    assert rules.cameo_enabled(gate(cameos=(cameo(enabled=False),))).outcome == "fail"
    assert rules.cameo_enabled(gate(cameos=(cameo(verified=False),))).outcome == "fail"


@pytest.mark.parametrize(("permission", "setup", "expected"), [
    ("only_me", {}, "fail"),
    ("approved", {}, "fail"),
    ("approved", {"approved": frozenset({ME})}, "pass"),
    ("mutuals", {"owner_following": frozenset({ME})}, "fail"),  # one-way is not mutual
    ("mutuals", {"owner_following": frozenset({ME}), "mutual": True}, "pass"),
    ("everyone", {}, "pass"),
    ("everyone", {"blocked": frozenset({ME})}, "fail"),
])
def test_cameo_permission_levels(permission: str, setup: dict, expected: str):
    owner = uuid4()
    mutual = setup.pop("mutual", False)
    me = requester(following=frozenset({owner}) if mutual else frozenset())
    facts = cameo(owner, permission=permission, **setup)
    assert rules.cameo_permission(gate(requester=me, cameos=(facts,))).outcome == expected


def test_own_cameo_is_always_permitted():
    facts = cameo(ME, permission="only_me")
    assert rules.cameo_permission(gate(cameos=(facts,))).outcome == "pass"


def test_cameo_restrictions_deny_forbidden_categories_and_review_uncertain_ones():
    facts = cameo(forbidden_categories=("violence",))
    assert rules.cameo_restrictions(gate(cameos=(facts,))).outcome == "pass"
    assert rules.cameo_restrictions(gate(cameos=(facts,), categories=violence())).outcome \
        == "fail"
    assert rules.cameo_restrictions(
        gate(cameos=(facts,), categories=violence(certain=False))).outcome == "review"


def test_work_licensed_needs_a_grant_covering_requester_use_content_and_date():
    assert rules.work_licensed(gate(works=(work(),))).outcome == "fail"
    assert rules.work_licensed(gate(works=(work(grant()),))).outcome == "pass"
    assert rules.work_licensed(gate(works=(work(grant(valid_now=False)),))).outcome == "fail"
    assert rules.work_licensed(gate(works=(work(grant(uses=("remix",))),))).outcome == "fail"
    named = grant(audience="members", members=frozenset({uuid4()}))
    assert rules.work_licensed(gate(works=(work(named),))).outcome == "fail"
    pro_only = grant(audience="tiers", tiers=("pro",))
    assert rules.work_licensed(gate(works=(work(pro_only),))).outcome == "fail"
    peaceful = grant(forbidden_categories=("violence",))
    assert rules.work_licensed(gate(works=(work(peaceful),), categories=violence())).outcome \
        == "fail"
    assert rules.work_licensed(gate(works=(work(grant(), withdrawn=True),))).outcome == "fail"


def test_work_licensed_says_when_no_semantic_matcher_looked():
    result = rules.work_licensed(gate())
    assert result.outcome == "pass"  # no work registered: nothing could be described
    assert result.evidence["semantic_matcher"] == "not configured"


def test_without_a_semantic_matcher_registered_works_send_the_prompt_to_a_person():
    result = rules.work_licensed(replace(gate(), registered_works=3))
    assert result.outcome == "review"
    assert result.evidence["semantic_matcher"] == "not configured"
    assert "3 registered works" in result.evidence["unchecked"]
    configured = replace(gate(), registered_works=3, semantic_matcher_configured=True)
    assert rules.work_licensed(configured).outcome == "pass"
    denied = replace(gate(works=(work(grant(valid_now=False)),)), registered_works=3)
    assert rules.work_licensed(denied).outcome == "fail"  # the worse outcome stays


def test_public_figure_appears_only_through_their_own_cameo_or_a_grant():
    figure = uuid4()
    likeness = work(kind="likeness", likeness_member_id=figure)
    assert rules.public_figure(gate(works=(likeness,))).outcome == "fail"
    assert rules.public_figure(gate(works=(likeness,), cameos=(cameo(figure),))).outcome \
        == "pass"
    licensed = work(grant(), kind="likeness", likeness_member_id=figure)
    assert rules.public_figure(gate(works=(licensed,))).outcome == "pass"


def test_remix_consent_rechecks_the_source_cameos_and_works_for_remix_use():
    source = RemixFacts(uuid4(), 7, "published")
    inherited = cameo(permission="everyone", inherited=True)
    remix_grant = work(grant(uses=("generate", "remix")), inherited=True)
    ok = gate(remix=source, cameos=(inherited,), works=(remix_grant,))
    assert rules.remix_consent(ok).outcome == "pass"
    generate_only = work(grant(), inherited=True)
    assert rules.remix_consent(gate(remix=source, works=(generate_only,))).outcome == "fail"
    revoked = cameo(enabled=False, inherited=True)
    assert rules.remix_consent(gate(remix=source, cameos=(revoked,))).outcome == "fail"
    taken_down = RemixFacts(source.id, 8, "taken_down")
    assert rules.remix_consent(gate(remix=taken_down)).outcome == "fail"


def test_any_fail_denies_any_review_holds_and_otherwise_allows():
    assert evaluate(gate()).outcome == "allow"
    decision = evaluate(gate(requester=requester(verified=False), seconds=99))
    assert decision.outcome == "deny"
    assert decision.rule_codes == ("ID-VERIFIED", "TIER-LIMITS")
    unsure = gate(cameos=(cameo(forbidden_categories=("violence",)),),
                  categories=violence(certain=False))
    assert evaluate(unsure).outcome == "review"


def test_trace_keeps_every_rule_with_the_versions_read():
    owner = uuid4()
    decision = evaluate(gate(cameos=(cameo(owner),)))
    assert len(decision.trace()) == len(rules.RULES)
    assert decision.consent_versions[f"cameo:{owner}"] == 2
    assert decision.consent_versions[f"identity:{ME}"] == 4


def test_redacted_trace_hides_versions_and_why_a_person_refused():
    owner = uuid4()
    decision = evaluate(gate(cameos=(cameo(owner, blocked=frozenset({ME})),)))
    shown = redact(decision.trace())
    permission = next(r for r in shown if r["code"] == "CAMEO-PERMISSION")
    assert permission == {"code": "CAMEO-PERMISSION", "outcome": "fail",
                          "evidence": {"cameos": [{"owner": str(owner), "outcome": "fail"}]}}
    assert all("reads" not in r for r in shown)
