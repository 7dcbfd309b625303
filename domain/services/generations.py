"""Generation commands: the request with its synchronous pre-gate, the worker's recorded
steps, and deletion. The gate reads consent from the aggregates themselves."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

from domain.actors import SYSTEM, Actor, Role
from domain.cameo import Cameo
from domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from domain.gate import CameoFacts, GateInput, GrantFacts, RequesterFacts, WorkFacts, evaluate
from domain.gate.facts import RemixFacts
from domain.gate.rules import work_licence_check
from domain.generation import Generation
from domain.grant import Grant
from domain.identity import Identity
from domain.ids import cameo_id, identity_id
from domain.member import Member
from domain.prompts import AliasHit, PromptClassifier, SemanticWorkMatcher
from domain.review_case import ReviewCase
from domain.services.access import require_role
from domain.services.rights import RightsCommands
from domain.work import Work

MAX_PROMPT = 2000
MAX_CAMEOS = 4
LIVE = ("published", "held", "pending_review", "queued", "rendered", "scanned", "watermarked")
# The rules about other people's consent, which can change after a decision.
CONSENT_RULES = frozenset({"CAMEO-ENABLED", "CAMEO-PERMISSION", "CAMEO-RESTRICTIONS",
                           "WORK-LICENSED", "PUBLIC-FIGURE", "REMIX-CONSENT"})


class GenerationCommands(RightsCommands):
    semantic_matcher: SemanticWorkMatcher
    classifier: PromptClassifier

    # -- the request -------------------------------------------------------------------
    def request_generation(self, actor: Actor, prompt: str, cameo_owner_ids: tuple[UUID, ...],
                           seconds: int, params: dict[str, str] | None = None,
                           remix_of: UUID | None = None, key: str | None = None
                           ) -> dict[str, Any]:
        require_role(actor, Role.MEMBER)
        prompt = prompt.strip()
        if not 0 < len(prompt) <= MAX_PROMPT:
            raise ValidationError(f"a prompt is 1-{MAX_PROMPT} characters")
        owners = tuple(dict.fromkeys(cameo_owner_ids))
        if len(owners) > MAX_CAMEOS:
            raise ValidationError(f"at most {MAX_CAMEOS} cameos per video")

        def body() -> tuple[dict[str, Any], list[Any]]:
            requester = self.get(Member, UUID(actor.id))
            gate = self._gate_input(requester, prompt, owners, seconds, remix_of)
            decision = evaluate(gate)
            generation = Generation.request(actor, requester.id, prompt, owners, seconds,
                                            params, remix_of)
            generation.decide(actor, decision.outcome, decision.rule_codes, decision.trace(),
                              tuple(w.id for w in gate.works if not w.inherited),
                              decision.consent_versions)
            changed: list[Any] = [generation]
            if decision.outcome != "deny":
                requester.consume_quota(actor, gate.now.date())
                changed.append(requester)
            if decision.outcome == "review":
                case = ReviewCase.open(SYSTEM, "generation", generation.id, requester.id,
                                       "pre-generation review: " + ", ".join(
                                           decision.rule_codes),
                                       {"trace": list(decision.trace())}, "normal")
                generation.hold_for_review(SYSTEM, case.id, decision.rule_codes)
                changed.append(case)
            result = {"generation_id": str(generation.id), "outcome": decision.outcome,
                      "rule_codes": list(decision.rule_codes)}
            return result, changed

        return self.run("request_generation", actor, key,
                        {"p": prompt, "c": owners, "s": seconds, "x": params or {},
                         "r": remix_of}, body)

    def evaluate_gate(self, actor: Actor, prompt: str, cameo_owner_ids: tuple[UUID, ...],
                      seconds: int, remix_of: UUID | None = None) -> Any:
        """The gate without recording anything (for previews and benchmarks)."""
        requester = self.get(Member, UUID(actor.id))
        gate = self._gate_input(requester, prompt, tuple(cameo_owner_ids), seconds, remix_of)
        return evaluate(gate)

    def _gate_input(self, requester: Member, prompt: str, owners: tuple[UUID, ...],
                    seconds: int, remix_of: UUID | None,
                    recorded_work_ids: tuple[UUID, ...] | None = None) -> GateInput:
        """The snapshot the gate decides on. `recorded_work_ids`: re-checking a decided
        generation uses the works found when it was requested instead of reading the prompt
        again."""
        now = self.clock()
        identity = self.find(Identity, identity_id(requester.id))
        limits = requester.limits
        requester_facts = RequesterFacts(
            id=requester.id, version=requester.version,
            identity_version=identity.version if identity else 0,
            verified=bool(identity and identity.verified), suspended=requester.suspended,
            tier=requester.tier, max_clip_seconds=limits.max_clip_seconds,
            daily_generations=limits.daily_generations,
            used_today=requester.used_on(now.date()),
            following=frozenset(requester.following))
        cameos = [self._cameo_facts(owner, inherited=False) for owner in owners]
        hits: dict[UUID, list[AliasHit]] = defaultdict(list)
        if recorded_work_ids is None:
            for hit in self.alias_index.find(prompt) + self.semantic_matcher.find(prompt):
                hits[hit.work_id].append(hit)
        else:
            hits.update({work_id: [] for work_id in recorded_work_ids})
        works = [w for w in (self._work_facts(wid, tuple(h), now, inherited=False)
                             for wid, h in hits.items()) if w is not None]
        remix = None
        if remix_of is not None:
            source = self.get(Generation, remix_of, "remix source")
            remix = RemixFacts(source.id, source.version, source.state)
            cameos += [self._cameo_facts(o, inherited=True)
                       for o in source.cameo_owner_ids if o not in owners]
            works += [w for w in (self._work_facts(wid, (), now, inherited=True)
                                  for wid in source.work_ids if wid not in hits)
                      if w is not None]
        gate = GateInput(requester=requester_facts, prompt=prompt, seconds=seconds, now=now,
                         categories=tuple(self.classifier.classify(prompt)),
                         cameos=tuple(cameos), works=tuple(works), remix=remix,
                         semantic_matcher_configured=self.semantic_matcher.configured)
        return gate

    def consent_failures(self, generation_id: UUID) -> tuple[str, ...]:
        """The consent rules a decided generation fails now (empty: its consents still
        hold). Used when a consent is revoked, to take down what depends on it."""
        return self.consent_now(generation_id)[0]

    def consent_now(self, generation_id: UUID) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The consent rules of a decided generation evaluated again on current consent:
        (those that fail, those that now need a person). The worker asks before marking
        and again before publishing (CONSENT-STILL-VALID)."""
        results = evaluate(self._decided_gate_input(self.get(Generation, generation_id))).results
        consent = [r for r in results if r.code in CONSENT_RULES]
        return (tuple(r.code for r in consent if r.outcome == "fail"),
                tuple(r.code for r in consent if r.outcome == "review"))

    def work_licence_now(self, generation_id: UUID, work_id: UUID) -> str:
        """Whether a grant covers this generation for a work the worker saw in its frames
        (the prompt may not have named it): "pass", "review" or "fail"."""
        gate = self._decided_gate_input(self.get(Generation, generation_id))
        work = self._work_facts(work_id, (), gate.now, inherited=False)
        if work is None:
            return "fail"
        return work_licence_check(work, gate, "generate")[0]

    def _decided_gate_input(self, generation: Generation) -> GateInput:
        requester = self.get(Member, generation.requester_id)
        return self._gate_input(requester, generation.prompt, generation.cameo_owner_ids,
                                generation.seconds, generation.remix_of,
                                recorded_work_ids=generation.work_ids)

    def take_down_all(self, causes: dict[UUID, dict[str, str]]) -> list[UUID]:
        """Takes down every generation in `causes` that is still live, in one transaction
        (one by one if another writer got in the way); returns those taken down now."""
        live = []
        for generation_id, cause in causes.items():
            generation = self.get(Generation, generation_id)
            if generation.state in LIVE:
                generation.take_down(SYSTEM, cause)
                live.append(generation)
        try:
            self.commit(*live)
        except ConflictError:
            return [g.id for g in live if self.take_down(SYSTEM, g.id, causes[g.id])]
        return [g.id for g in live]

    def _cameo_facts(self, owner_id: UUID, inherited: bool) -> CameoFacts:
        owner = self.find(Member, owner_id)
        if owner is None:
            raise ValidationError("unknown cameo owner", member_id=str(owner_id))
        identity = self.find(Identity, identity_id(owner_id))
        cameo = self.find(Cameo, cameo_id(owner_id))
        return CameoFacts(
            owner_id=owner_id, owner_version=owner.version,
            owner_following=frozenset(owner.following),
            identity_version=identity.version if identity else 0,
            verified=bool(identity and identity.verified),
            cameo_version=cameo.version if cameo else 0,
            enabled=bool(cameo and cameo.enabled),
            permission=cameo.permission if cameo else "only_me",
            approved=frozenset(cameo.approved) if cameo else frozenset(),
            blocked=frozenset(cameo.blocked) if cameo else frozenset(),
            forbidden_categories=cameo.forbidden_categories if cameo else (),
            has_instructions=bool(cameo and cameo.instructions), inherited=inherited)

    def _work_facts(self, work_id: UUID, hits: tuple[AliasHit, ...], now: Any,
                    inherited: bool) -> WorkFacts | None:
        work = self.find(Work, work_id)
        if work is None:
            return None
        grants = []
        for grant_id in work.grant_ids:
            grant = self.get(Grant, grant_id)
            t = grant.terms
            grants.append(GrantFacts(
                id=grant.id, version=grant.version, valid_now=grant.is_valid_at(now),
                audience=t.audience, members=frozenset(t.members), tiers=t.tiers,
                uses=t.uses, forbidden_categories=t.forbidden_categories,
                attribution_required=t.attribution_required))
        return WorkFacts(id=work.id, version=work.version, title=work.title, kind=work.kind,
                         withdrawn=work.withdrawn, likeness_member_id=work.likeness_member_id,
                         grants=tuple(grants), hits=hits, inherited=inherited)

    # -- the worker's steps (each idempotent per generation and step) -------------------
    def _step(self, name: str, actor: Actor, generation_id: UUID, done: Any, act: Any,
              key: str | None) -> str:
        require_role(actor, Role.WORKER, Role.ADMIN)

        def body() -> tuple[str, list[Any]]:
            generation = self.get(Generation, generation_id)
            if not done(generation):
                act(generation)
            return generation.state, [generation]

        return self.run(name, actor, key, {"g": generation_id}, body)

    def record_render(self, actor: Actor, generation_id: UUID, artifact_digest: str,
                      frames: int, seconds: float, worker: str, attempt: int,
                      key: str | None = None) -> str:
        return self._step("record_render", actor, generation_id,
                          lambda g: g.artifact_digest == artifact_digest,
                          lambda g: g.record_render(actor, artifact_digest, frames, seconds,
                                                    worker, attempt), key)

    def record_scan(self, actor: Actor, generation_id: UUID, findings: dict[str, Any],
                    key: str | None = None) -> str:
        return self._step("record_scan", actor, generation_id, lambda g: g.scanned,
                          lambda g: g.record_scan(actor, findings), key)

    def record_watermark(self, actor: Actor, generation_id: UUID, payload: str,
                         manifest_digest: str, published_digest: str,
                         key: str | None = None) -> str:
        return self._step("record_watermark", actor, generation_id, lambda g: g.watermarked,
                          lambda g: g.record_watermark(actor, payload, manifest_digest,
                                                       published_digest), key)

    def publish_generation(self, actor: Actor, generation_id: UUID,
                           key: str | None = None) -> str:
        return self._step("publish_generation", actor, generation_id,
                          lambda g: g.state == "published", lambda g: g.publish(actor), key)

    def reject_generation(self, actor: Actor, generation_id: UUID, rule_codes: tuple[str, ...],
                          key: str | None = None) -> str:
        return self._step("reject_generation", actor, generation_id,
                          lambda g: g.state == "rejected",
                          lambda g: g.reject(actor, tuple(rule_codes)), key)

    def hold_generation(self, actor: Actor, generation_id: UUID, reasons: tuple[str, ...],
                        evidence: dict[str, Any], priority: str = "normal",
                        key: str | None = None) -> dict[str, Any]:
        """Holds a generation for review and opens the case with the evidence."""
        require_role(actor, Role.WORKER, Role.ADMIN)

        def body() -> tuple[dict[str, Any], list[Any]]:
            generation = self.get(Generation, generation_id)
            if generation.state == "held":
                return {"case_id": str(generation.case_ids[-1])}, []
            case = ReviewCase.open(actor, "generation", generation.id,
                                   generation.requester_id, ", ".join(reasons),
                                   dict(evidence), priority)
            generation.hold_for_review(actor, case.id, tuple(reasons))
            return {"case_id": str(case.id)}, [generation, case]

        return self.run("hold_generation", actor, key,
                        {"g": generation_id, "r": list(reasons)}, body)

    def take_down(self, actor: Actor, generation_id: UUID, cause: dict[str, str]) -> bool:
        """True if the generation was taken down now (False if it was not live)."""
        generation = self.get(Generation, generation_id)
        if generation.state not in LIVE:
            return False
        generation.take_down(actor, cause)
        self.commit(generation)
        return True

    def delete_generation(self, actor: Actor, generation_id: UUID, key: str | None = None
                          ) -> str:
        def body() -> tuple[str, list[Any]]:
            generation = self.get(Generation, generation_id)
            me = UUID(actor.id) if actor.role == Role.MEMBER else None
            if actor.role != Role.ADMIN and (
                    me is None or not (me == generation.requester_id or generation.features(me))):
                raise NotFoundError("Generation not found", id=str(generation_id))
            if generation.state == "deleted":
                raise PermissionDeniedError("already deleted")
            reason = "author" if me == generation.requester_id else (
                "featured cameo owner" if me else "admin")
            generation.delete(actor, reason)
            return "deleted", [generation]

        return self.run("delete_generation", actor, key, {"g": generation_id}, body)
