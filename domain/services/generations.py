"""Generation commands: the request with its synchronous pre-gate, the worker's recorded
steps, and deletion. The gate reads consent from the aggregates themselves."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from domain.actors import SYSTEM, Actor, Role
from domain.cameo import Cameo
from domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from domain.faces import TrackVerdict, likeness_work
from domain.gate import CameoFacts, GateInput, GrantFacts, RequesterFacts, WorkFacts, evaluate
from domain.gate.decision import review_key
from domain.gate.facts import RemixFacts
from domain.gate.post_rules import CONSENT_STILL_VALID, evaluate_post
from domain.gate.rules import FAIL, PASS, REVIEW, RuleResult, work_licence_check
from domain.generation import Generation, State
from domain.grant import Grant
from domain.hash_bank import LOCAL_SOURCE, BankEntry, BankSource, FrameHashIndex, source_id
from domain.identity import Identity
from domain.ids import cameo_id, identity_id
from domain.member import Member
from domain.prompts import AliasHit, InstructionChecker, PromptClassifier, SemanticWorkMatcher
from domain.review_case import labels_of
from domain.services.access import require_role
from domain.services.rights import RightsCommands
from domain.services.work_names import WorkNames
from domain.work import Work


class Follower(Protocol):
    def catch_up(self) -> int: ...

MAX_PROMPT = 2000
MAX_CAMEOS = 4
# The rules about other people's consent, which can change after a decision.
CONSENT_RULES = frozenset({"CAMEO-ENABLED", "CAMEO-PERMISSION", "CAMEO-RESTRICTIONS",
                           "WORK-LICENSED", "PUBLIC-FIGURE", "REMIX-CONSENT"})


@dataclass(frozen=True)
class ConsentCheck:
    """The consent rules of a decided generation evaluated again on current consent."""

    results: tuple[RuleResult, ...]

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.results if r.outcome == FAIL)

    def new_reviews(self, generation: Generation) -> tuple[RuleResult, ...]:
        """Rules that need a person and that no person has cleared with this evidence."""
        return tuple(r for r in self.results
                     if r.outcome == REVIEW and review_key(r) not in generation.cleared)

    def trace(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.results]


class GenerationCommands(RightsCommands):
    semantic_matcher: SemanticWorkMatcher
    classifier: PromptClassifier
    instruction_checker: InstructionChecker
    work_names: Follower
    work_catalogue: WorkNames  # what `work_names` feeds
    # PDQ frame indexes following the log (adapters/hash_bank.py), set by the composition
    # root: the bank of removed content (rule STAYDOWN) and published videos' frames.
    hash_bank: FrameHashIndex | None = None
    published_frames: FrameHashIndex | None = None

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
            requester.check_may_generate(self.clock())
            gate = self._gate_input(requester, prompt, owners, seconds, remix_of)
            decision = evaluate(gate)
            generation = Generation.request(actor, requester.id, prompt, owners, seconds,
                                            params, remix_of)
            generation.decide(
                actor, decision.outcome, decision.rule_codes, decision.trace(),
                tuple(w.id for w in gate.works if not w.inherited), decision.consent_versions,
                featured_member_ids=tuple(c.owner_id for c in gate.cameos),
                featured_work_ids=tuple(w.id for w in gate.works))
            changed: list[Any] = [generation]
            if decision.outcome != "deny":
                requester.consume_quota(actor, gate.now.date())
                changed.append(requester)
            if decision.outcome == "review":
                case = self.open_case(SYSTEM, "generation", generation.id, requester.id,
                                      "pre-generation review: " + ", ".join(
                                          decision.rule_codes),
                                      {"trace": list(decision.trace())}, "normal",
                                      labels_of(decision.rule_codes))
                generation.hold_for_review(SYSTEM, case.id, decision.rule_codes,
                                           decision.review_keys)
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
                    decided: Generation | None = None) -> GateInput:
        """The snapshot the gate decides on. A new request reads the prompt (after the work
        names caught up with the log) and inherits its remix source's featured set; a
        decided generation (`decided`) is checked again on the set it recorded: the works
        its prompt named, those found in its frames, and what it inherited."""
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
        categories = tuple(self.classifier.classify(prompt))
        cameos = [self._cameo_facts(owner, prompt, inherited=False) for owner in owners]
        source = self.get(Generation, remix_of, "remix source") if remix_of else None
        if decided is None:
            self.work_names.catch_up()
            hits: dict[UUID, list[AliasHit]] = defaultdict(list)
            for hit in self.alias_index.find(prompt) + self.semantic_matcher.find(prompt):
                hits[hit.work_id].append(hit)
            named = [self._work_facts(wid, tuple(h), now) for wid, h in hits.items()]
            members = source.featured_member_ids if source else ()
            inherited_works = source.featured_work_ids if source else ()
        else:
            named = [self._work_facts(wid, (), now) for wid in decided.work_ids]
            named += [self._work_facts(wid, (), now, visual=True)
                      for wid in decided.visual_work_ids if wid not in decided.work_ids]
            members, inherited_works = decided.inherited_member_ids, decided.inherited_work_ids
        works = [w for w in named if w is not None]
        seen = {w.id for w in works}
        cameos += [self._cameo_facts(m, prompt, inherited=True)
                   for m in dict.fromkeys(members) if m not in owners]
        works += [w for w in (self._work_facts(wid, (), now, inherited=True)
                              for wid in dict.fromkeys(inherited_works) if wid not in seen)
                  if w is not None]
        remix = RemixFacts(source.id, source.version, source.state) if source else None
        return GateInput(requester=requester_facts, prompt=prompt, seconds=seconds, now=now,
                         categories=categories, cameos=tuple(cameos), works=tuple(works),
                         remix=remix,
                         semantic_matcher_configured=self.semantic_matcher.configured,
                         registered_works=self.work_catalogue.count)

    def consent_now(self, generation: Generation) -> ConsentCheck:
        """CONSENT-STILL-VALID: the consent rules of a decided generation, on consent as it
        is now. Asked by the worker before rendering, before marking and before publishing,
        and by the revocation process when a consent it relied on changes."""
        requester = self.get(Member, generation.requester_id)
        gate = self._gate_input(requester, generation.prompt, generation.cameo_owner_ids,
                                generation.seconds, generation.remix_of, decided=generation)
        return ConsentCheck(tuple(r for r in evaluate(gate).results if r.code in CONSENT_RULES))

    def enforce_consent(self, actor: Actor, generation_ids: Iterable[UUID],
                        cause: dict[str, str] | None = None) -> dict[UUID, State]:
        """Checks each live generation's consent again and acts on what it finds, in one
        transaction (one by one if another writer got in the way): a failure rejects it
        (`cause` None: the worker's check) or takes it down with the cause (a revocation);
        a review no person has cleared holds it, out of the feed, with a case quoting the
        trace. Returns the new state of each generation it changed."""
        ids = tuple(generation_ids)
        acted: dict[UUID, State] = {}
        changed: list[Any] = []
        for generation_id in ids:
            generation = self.get(Generation, generation_id)
            if generation.live:
                touched = self._enforce(actor, generation, cause)
                if touched:
                    acted[generation_id] = generation.state
                    changed += touched
        try:
            self.commit(*changed)
        except ConflictError:
            if len(acted) <= 1:
                raise
            acted = {}
            for generation_id in ids:
                acted.update(self.enforce_consent(actor, (generation_id,), cause))
        return acted

    def _enforce(self, actor: Actor, generation: Generation, cause: dict[str, str] | None
                 ) -> list[Any]:
        if self.get(Member, generation.requester_id).closed:
            generation.delete(actor, "account closed")  # its author left: it goes with them
            return [generation]
        check = self.consent_now(generation)
        if check.failures:
            if cause is None:
                generation.reject(actor, (CONSENT_STILL_VALID, *check.failures))
            else:
                generation.take_down(actor, {**cause, "rules": ",".join(check.failures)})
            return [generation]
        reviews = check.new_reviews(generation)
        if not reviews or generation.state == State.HELD:
            return []
        codes = tuple(dict.fromkeys(r.code for r in reviews))
        case = self.open_case(actor, "generation", generation.id, generation.requester_id,
                              f"{CONSENT_STILL_VALID}: {', '.join(codes)} needs a person",
                              {"rules": list(codes), "consent_trace": check.trace(),
                               "trace": list(generation.trace), "cause": dict(cause or {})},
                              "normal", labels_of(codes))
        generation.hold_for_review(actor, case.id, (CONSENT_STILL_VALID, *codes),
                                   tuple(review_key(r) for r in reviews), cause)
        return [generation, case]

    def _cameo_facts(self, owner_id: UUID, prompt: str, inherited: bool) -> CameoFacts:
        owner = self.find(Member, owner_id)
        if owner is None:
            raise ValidationError("unknown cameo owner", member_id=str(owner_id))
        identity = self.find(Identity, identity_id(owner_id))
        cameo = self.find(Cameo, cameo_id(owner_id))
        instructions = cameo.instructions if cameo else ""
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
            instructions=instructions,
            instruction_verdict=self.instruction_checker.check(prompt, instructions)
            if instructions else None,
            inherited=inherited)

    def _work_facts(self, work_id: UUID, hits: tuple[AliasHit, ...], now: Any,
                    inherited: bool = False, visual: bool = False) -> WorkFacts | None:
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
                         grants=tuple(grants), hits=hits, inherited=inherited, visual=visual)

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

    def bank_findings(self, frame_hashes: list[str] | None) -> dict[str, Any]:
        """The hash bank's matches for a clip's frame hashes, as rule STAYDOWN reads them;
        entries are read from the store (enabled, trusted) after the index found them."""
        if self.hash_bank is None:
            return {"configured": False, "error": ""}
        if frame_hashes is None:
            return {"configured": True, "error": "the scan recorded no frame hashes"}
        matches = []
        for match in self.hash_bank.matches(frame_hashes):
            entry = self.find(BankEntry, match.key)
            if entry is None or not entry.enabled:
                continue
            matches.append({"entry_id": str(entry.id), "decision": str(match.decision),
                            "trusted": self.source_trusted(entry.source),
                            "source": entry.source,
                            "reason": entry.reason, "request": entry.request,
                            "frames_matched": match.frames_matched,
                            "frames_near": match.frames_near, "distance": match.distance})
        return {"configured": True, "error": "", "frames": len(frame_hashes),
                "matches": matches}

    def source_trusted(self, source: str) -> bool:
        """Local bank entries act; an imported one only while its source is trusted."""
        if source == LOCAL_SOURCE:
            return True
        found = self.find(BankSource, source_id(source))
        return found is not None and found.trusted

    def record_scan(self, actor: Actor, generation_id: UUID, findings: dict[str, Any],
                    evidence_frames: tuple[str, ...] = (), key: str | None = None,
                    sealed_tracks: tuple[bytes, ...] = ()) -> dict[str, Any]:
        """Records what the scanners found together with what it leads to, in one
        transaction: the after-generation rules reject it, hold it with a review case (the
        evidence frames are kept for that case only), or let it go on to watermarking.
        Works seen in the frames are licensed here, on current grants, and join its
        featured set. Returns the state, the rules' outcome and the case id, if any."""
        require_role(actor, Role.WORKER, Role.ADMIN)

        def body() -> tuple[dict[str, Any], list[Any]]:
            generation = self.get(Generation, generation_id)
            if generation.scanned:
                return {"state": str(generation.state), "outcome": "recorded",
                        "case_id": None}, []
            found = copy.deepcopy(findings)
            found["bank"] = self.bank_findings(found.get("works", {}).get("frame_hashes"))
            seen = self._license_sightings(generation, found)
            decision = evaluate_post(found)
            found["post_rules"] = decision.trace()
            found["evidence_frames"] = list(evidence_frames) \
                if decision.outcome == "review" else []
            generation.record_scan(actor, found, seen, sealed_tracks)
            changed: list[Any] = [generation]
            case_id = None
            if decision.outcome == "reject":
                generation.reject(actor, decision.rule_codes)
            elif decision.outcome == "review" and not generation.approved_by_review:
                case = self.open_case(
                    actor, "generation", generation.id, generation.requester_id,
                    ", ".join(decision.rule_codes),
                    {"post_rules": decision.trace(), "trace": list(generation.trace),
                     "frames": list(found["evidence_frames"]),
                     "findings": {k: found.get(k)
                                  for k in ("faces", "works", "safety", "voices")}},
                    "normal", labels_of(decision.rule_codes))
                generation.hold_for_review(actor, case.id, decision.rule_codes)
                changed.append(case)
                case_id = str(case.id)
            return {"state": str(generation.state), "outcome": decision.outcome,
                    "case_id": case_id}, changed

        return self.run("record_scan", actor, key, {"g": generation_id}, body)

    def _license_sightings(self, generation: Generation, findings: dict[str, Any]
                           ) -> tuple[UUID, ...]:
        """Marks each protected work seen in the frames (a reference match, or a face that
        matches a public figure's likeness) licensed or not for this generation, on its
        grants now; returns the works seen, which join the generation's featured set."""
        requester = self.get(Member, generation.requester_id)
        gate = self._gate_input(requester, generation.prompt, generation.cameo_owner_ids,
                                generation.seconds, generation.remix_of, decided=generation)
        featured = set(generation.featured_member_ids)
        seen: list[UUID] = []

        def licence(work_id: UUID) -> str:
            work = self._work_facts(work_id, (), gate.now, visual=True)
            if work is None:
                return FAIL
            if work.likeness_member_id is not None and work.likeness_member_id in featured:
                return PASS  # the figure's own cameo
            return work_licence_check(work, gate, "generate")[0]

        for match in findings.get("works", {}).get("matches", []):
            work_id = UUID(match["work_id"])
            outcome = PASS if work_id in generation.work_ids else licence(work_id)
            match["licensed"] = outcome == PASS
            if outcome == REVIEW and match.get("decision") == "match":
                match["decision"] = "review"  # a grant that needs a person to apply it
            if match.get("decision") in ("match", "review"):
                seen.append(work_id)
        for track in findings.get("faces", {}).get("tracks", []):
            likeness = likeness_work(track)
            if likeness is None:
                continue
            seen.append(likeness)
            if licence(likeness) == PASS:
                track["verdict"] = str(TrackVerdict.LICENSED_LIKENESS)
        return tuple(dict.fromkeys(seen))

    def record_watermark(self, actor: Actor, generation_id: UUID, payload: str,
                         manifest_digest: str, published_digest: str,
                         key: str | None = None) -> str:
        return self._step("record_watermark", actor, generation_id, lambda g: g.watermarked,
                          lambda g: g.record_watermark(actor, payload, manifest_digest,
                                                       published_digest), key)

    def publish_generation(self, actor: Actor, generation_id: UUID,
                           key: str | None = None) -> str:
        return self._step("publish_generation", actor, generation_id,
                          lambda g: g.state == State.PUBLISHED, lambda g: g.publish(actor), key)

    def reject_generation(self, actor: Actor, generation_id: UUID, rule_codes: tuple[str, ...],
                          key: str | None = None) -> str:
        return self._step("reject_generation", actor, generation_id,
                          lambda g: g.state == State.REJECTED,
                          lambda g: g.reject(actor, tuple(rule_codes)), key)

    def hold_generation(self, actor: Actor, generation_id: UUID, reasons: tuple[str, ...],
                        evidence: dict[str, Any], priority: str = "normal",
                        key: str | None = None) -> dict[str, Any]:
        """Holds a generation for review and opens the case with the evidence."""
        require_role(actor, Role.WORKER, Role.ADMIN)

        def body() -> tuple[dict[str, Any], list[Any]]:
            generation = self.get(Generation, generation_id)
            if generation.state == State.HELD:
                return {"case_id": str(generation.case_ids[-1])}, []
            case = self.open_case(actor, "generation", generation.id,
                                  generation.requester_id, ", ".join(reasons),
                                  dict(evidence), priority, labels_of(reasons))
            generation.hold_for_review(actor, case.id, tuple(reasons))
            return {"case_id": str(case.id)}, [generation, case]

        return self.run("hold_generation", actor, key,
                        {"g": generation_id, "r": list(reasons)}, body)

    def delete_generation(self, actor: Actor, generation_id: UUID, key: str | None = None
                          ) -> str:
        def body() -> tuple[str, list[Any]]:
            generation = self.get(Generation, generation_id)
            me = UUID(actor.id) if actor.role == Role.MEMBER else None
            if actor.role != Role.ADMIN and (
                    me is None or not (me == generation.requester_id or generation.features(me))):
                raise NotFoundError("Generation not found", id=str(generation_id))
            if generation.state == State.DELETED:
                raise PermissionDeniedError("already deleted")
            reason = "author" if me == generation.requester_id else (
                "featured cameo owner" if me else "admin")
            generation.delete(actor, reason)
            return "deleted", [generation]

        return self.run("delete_generation", actor, key, {"g": generation_id}, body)
