"""Review queue commands. A decision names a policy code that allows it, in a queue that
lets its reviewer take it, and acts on its subject in the same transaction: approve lets a
held generation go on (or restores a taken-down one), remove rejects or takes it down (and
strikes its author when the code is grave enough), restrict keeps it off the feed. On a
suspected duplicate identity, approve verifies the held identity and anything else leaves
it unverified. A calibration case's decision is recorded and acts on nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from domain.errors import InvalidTransitionError, ValidationError
from domain.faces import members_seen
from domain.generation import REVIEW_CODE_PREFIX, Generation, State
from domain.identity import Identity
from domain.member import Member
from domain.report import Report
from domain.review_case import CaseState, ReviewCase, ReviewerInvolvedError, report_labels
from domain.review_config import DEFAULT_LABEL, Policy, ReviewConfig
from domain.services.access import require_role
from domain.services.generations import GenerationCommands
from domain.staff import DEFAULT_GRADE, Staff

URGENT_CATEGORIES = ("minors", "self_harm")


@dataclass(frozen=True)
class EvidenceItem:
    """One thing a reviewer can look at: `frame:<n>` (a sampled frame of the scan) or
    `video` (the held render, or the published file once it is out)."""

    item: str
    digest: str
    media_type: str


class ReviewCommands(GenerationCommands):
    def _case_command(self, name: str, actor: Actor, case_id: UUID, key: str | None,
                      args: dict[str, Any], act: Any, roles: tuple[Role, ...] = (
                          Role.REVIEWER, Role.ADMIN)) -> str:
        require_role(actor, *roles)

        def body() -> tuple[str, list[Any]]:
            case = self.get(ReviewCase, case_id, "case")
            if actor.role != Role.MEMBER:
                self.check_case_access(actor, case)
            changed = [case, *act(case)]
            return case.state, changed

        return self.run(name, actor, key, {"case": case_id, **args}, body)

    def staff_of(self, actor: Actor) -> Staff | None:
        return self.find(Staff, UUID(actor.id)) if _is_uuid(actor.id) else None

    @staticmethod
    def grade_of(staff: Staff | None) -> str:
        """A reviewer's grade (an actor with no staff record, only made in tests and
        scripts, has the grade new staff get)."""
        return staff.grade if staff is not None else DEFAULT_GRADE

    def check_case_access(self, actor: Actor, case: ReviewCase,
                          config: ReviewConfig | None = None) -> Staff | None:
        """Who may see and work a case: staff whose grade its queue admits (admins, the
        leads, work any queue) and who are not part of its content."""
        require_role(actor, Role.REVIEWER, Role.ADMIN)
        staff = self.staff_of(actor)
        self.check_not_own_case(actor, case, staff)
        (config or self.review_config()).check_worker(
            case.queue, self.grade_of(staff), lead=actor.role == Role.ADMIN)
        return staff

    def case_for(self, actor: Actor, case_id: UUID) -> ReviewCase:
        """The case, for a staff member who may see it (else the refusal)."""
        case = self.get(ReviewCase, case_id, "case")
        self.check_case_access(actor, case)
        return case

    def workable_queues(self, actor: Actor) -> tuple[str, ...]:
        """The queues this staff member works (admins: all of them)."""
        config = self.review_config()
        if actor.role == Role.ADMIN:
            return tuple(config.queues)
        grade = self.grade_of(self.staff_of(actor))
        return tuple(q.name for q in config.queues.values() if grade in q.grades)

    def check_not_own_case(self, actor: Actor, case: ReviewCase,
                           staff: Staff | None = None) -> None:
        """Nobody reviews a video they are part of: its author, the authors of the videos it
        remixes, and everyone who appears in it (cameos requested or inherited, and faces
        the scan matched to a member). The case checks the reviewer's own id; a staff
        member's linked member account is known only to their `Staff` record."""
        staff = staff or self.staff_of(actor)
        if staff is None or staff.member_id is None:
            return
        if staff.member_id in self.involved_members(case):
            raise ReviewerInvolvedError("a reviewer cannot review content they are part of")

    def involved_members(self, case: ReviewCase) -> set[UUID]:
        people = {case.subject_owner_id} if case.subject_owner_id is not None else set()
        if case.subject_kind != "generation":
            return people
        generation = self.find(Generation, case.subject_id)
        seen: set[UUID] = set()
        while generation is not None and generation.id not in seen:
            seen.add(generation.id)
            people |= {generation.requester_id, *generation.featured_member_ids,
                       *members_seen(generation.findings)}
            generation = self.find(Generation, generation.remix_of) \
                if generation.remix_of is not None else None
        return people

    def claim_case(self, actor: Actor, case_id: UUID, key: str | None = None) -> str:
        return self._case_command("claim_case", actor, case_id, key, {},
                                  lambda c: c.claim(actor, self.clock()) or [])

    def release_case(self, actor: Actor, case_id: UUID, key: str | None = None) -> str:
        return self._case_command("release_case", actor, case_id, key, {},
                                  lambda c: c.release(actor) or [])

    def comment_case(self, actor: Actor, case_id: UUID, text: str, internal: bool = True,
                     key: str | None = None) -> str:
        return self._case_command("comment_case", actor, case_id, key,
                                  {"t": text, "i": internal},
                                  lambda c: c.comment(actor, text, internal) or [])

    def escalate_case(self, actor: Actor, case_id: UUID, reason: str, release: bool = False,
                      key: str | None = None) -> str:
        """Moves the case to its queue's senior queue, at the front."""
        return self._case_command(
            "escalate_case", actor, case_id, key, {"r": reason, "x": release},
            lambda c: c.escalate(actor, reason, self.clock(),
                                 self.review_config().senior_of(c.queue), release,
                                 lead=actor.role == Role.ADMIN) or [])

    def view_evidence(self, actor: Actor, case_id: UUID, item: str, unblurred: bool,
                      key: str | None = None) -> str:
        """Records that a staff member who may see the case looked at one item of its
        evidence; the caller serves the item only after this succeeded."""
        return self._case_command("view_evidence", actor, case_id, key,
                                  {"i": item, "u": unblurred},
                                  lambda c: c.view(actor, item, unblurred) or [])

    def evidence_items(self, case: ReviewCase) -> list[EvidenceItem]:
        items = [EvidenceItem(f"frame:{n}", str(digest), "image/jpeg")
                 for n, digest in enumerate(case.evidence.get("frames") or ())]
        generation = self.find(Generation, case.subject_id) \
            if case.subject_kind == "generation" else None
        video = generation and (generation.published_digest or generation.artifact_digest)
        if video:
            items.append(EvidenceItem("video", video, "video/mp4"))
        return items

    def evidence_filter(self, actor: Actor, case: ReviewCase) -> tuple[bool, bool]:
        """(blur, grayscale) for this reviewer and case: per content label, the reviewer's
        own choice or else the organisation's default; any label that asks for a filter
        gets it."""
        staff = self.staff_of(actor)
        config = self.review_config()
        blur = grayscale = False
        for label in case.labels or (DEFAULT_LABEL,):
            own = staff.wellness.get(label) if staff is not None else None
            if own is None:
                shown = config.shown(label)
                own = (shown.blur, shown.grayscale)
            blur, grayscale = blur or own[0], grayscale or own[1]
        return blur, grayscale

    def _decision_policy(self, actor: Actor, case: ReviewCase, decision: str,
                         policy_code: str) -> tuple[ReviewConfig, Policy]:
        config = self.review_config()
        staff = self.staff_of(actor)
        return config, config.check_decision(case.queue, self.grade_of(staff),
                                             actor.role == Role.ADMIN, decision, policy_code)

    def decide_case(self, actor: Actor, case_id: UUID, decision: str, policy_code: str,
                    key: str | None = None) -> str:
        def act(case: ReviewCase) -> list[Any]:
            config, policy = self._decision_policy(actor, case, decision, policy_code)
            case.decide(actor, decision, policy_code, self.clock())
            if case.is_calibration:
                return []  # recorded for the agreement statistics; acts on nothing
            changed = self._apply_decision(actor, case, decision, policy_code)
            if decision == "remove":
                changed += self._strike(actor, case, policy, config)
            return changed

        return self._case_command("decide_case", actor, case_id, key,
                                  {"d": decision, "p": policy_code}, act)

    def appeal_case(self, actor: Actor, case_id: UUID, text: str, key: str | None = None
                    ) -> str:
        return self._case_command(
            "appeal_case", actor, case_id, key, {"t": text},
            lambda c: c.appeal(actor, text, self.review_config().appeals_queue) or [],
            roles=(Role.MEMBER,))

    def decide_appeal(self, actor: Actor, case_id: UUID, decision: str, policy_code: str,
                      key: str | None = None) -> str:
        def act(case: ReviewCase) -> list[Any]:
            config, policy = self._decision_policy(actor, case, decision, policy_code)
            first = case.decision
            case.decide_appeal(actor, decision, policy_code, self.clock())
            changed = self._apply_decision(actor, case, decision, policy_code)
            if decision == "remove":
                changed += self._strike(actor, case, policy, config)
            elif first == "remove":
                changed += self._withdraw_strike(actor, case, config)
            return changed

        return self._case_command("decide_appeal", actor, case_id, key,
                                  {"d": decision, "p": policy_code}, act)

    def _author(self, case: ReviewCase) -> Member | None:
        if case.subject_owner_id is None:
            return None
        return self.find(Member, case.subject_owner_id)

    def _strike(self, actor: Actor, case: ReviewCase, policy: Policy,
                config: ReviewConfig) -> list[Any]:
        rules = config.strikes
        author = self._author(case)
        if author is None or policy.severity < rules.min_severity:
            return []
        author.add_strike(actor, case.id, policy.code, policy.severity, self.clock(),
                          timedelta(days=rules.lifetime_days), rules.limit,
                          timedelta(days=rules.suspension_days))
        return [author]

    def _withdraw_strike(self, actor: Actor, case: ReviewCase,
                         config: ReviewConfig) -> list[Any]:
        author = self._author(case)
        if author is None:
            return []
        author.withdraw_strike(actor, case.id, self.clock(), config.strikes.limit)
        return [author]

    def mark_calibration(self, actor: Actor, case_id: UUID, decision: str, policy_code: str,
                         key: str | None = None) -> dict[str, Any]:
        """An admin makes a decided case a golden-set item: a copy served unmarked in the
        queue it was decided in, with the decision expected of whoever takes it."""
        require_role(actor, Role.ADMIN)

        def body() -> tuple[dict[str, Any], list[Any]]:
            original = self.get(ReviewCase, case_id, "case")
            config = self.review_config()
            config.check_decision(original.decided_in, "", True, decision, policy_code)
            copy = ReviewCase.calibration_copy(actor, original, decision, policy_code)
            return {"case_id": str(copy.id)}, [copy]

        return self.run("mark_calibration", actor, key,
                        {"c": case_id, "d": decision, "p": policy_code}, body)

    def _apply_decision(self, actor: Actor, case: ReviewCase, decision: str,
                        policy_code: str) -> list[Any]:
        if case.subject_kind == "identity":
            identity = self.find(Identity, case.subject_id)
            changed = identity is not None and identity.resolve_duplicate(
                actor, case.id, approve=decision == "approve")
            return [identity] if changed else []
        if case.subject_kind != "generation":
            return []
        generation = self.get(Generation, case.subject_id)
        state = generation.state
        if decision in ("approve", "restrict"):
            # An appeal can overturn a reviewer's removal (never a consent revocation's
            # takedown): the video comes back before any restriction applies.
            if generation.removed_by_review or (state == State.HELD and decision == "approve"):
                generation.approve(actor, case.id)
            elif state == State.TAKEN_DOWN \
                    and generation.takedown_cause.get("kind") == "review":
                # Consent withdrawn while it was down keeps it down: an appeal is about the
                # reviewer's judgement, not about the consents that have gone since.
                failures = self.consent_now(generation).failures
                if failures:
                    raise InvalidTransitionError(
                        "consent this video relied on was withdrawn since it was removed; it "
                        "cannot be restored", rules=list(failures))
                generation.restore(actor, case.id)
            if decision == "restrict" and generation.allows(Generation.Restricted):
                generation.restrict(actor, case.id, policy_code)  # releases a held one too
        elif decision == "remove":
            if state == State.PUBLISHED:
                generation.take_down(actor, {"kind": "review", "case_id": str(case.id),
                                             "policy_code": policy_code})
            elif state in (State.HELD, State.PENDING_REVIEW):
                generation.reject(actor, (f"{REVIEW_CODE_PREFIX}{policy_code}",))
        return [generation]

    def file_report(self, actor: Actor, generation_id: UUID, category: str, text: str = "",
                    key: str | None = None) -> dict[str, Any]:
        require_role(actor, Role.MEMBER)

        def body() -> tuple[dict[str, Any], list[Any]]:
            self.get(Member, UUID(actor.id))
            generation = self.get(Generation, generation_id)
            if generation.state != State.PUBLISHED:
                raise InvalidTransitionError("only published videos can be reported")
            if generation.requester_id == UUID(actor.id):
                raise ValidationError("you cannot report your own video")
            case = None
            for case_id in reversed(generation.case_ids):
                candidate = self.get(ReviewCase, case_id)
                if candidate.state == CaseState.OPEN:
                    case = candidate
                    break
            if case is None:
                priority = "urgent" if category in URGENT_CATEGORIES else "normal"
                case = self.open_case(actor, "generation", generation.id,
                                      generation.requester_id, f"report: {category}",
                                      {"reports": [category]}, priority,
                                      report_labels(category))
                generation.link_case(actor, case.id)
            report = Report.file(actor, UUID(actor.id), generation_id, category, text,
                                 case.id)
            case.attach_report(actor, report.id)
            return {"report_id": str(report.id), "case_id": str(case.id)}, \
                [report, case, generation]

        return self.run("file_report", actor, key,
                        {"g": generation_id, "c": category, "t": text}, body)


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
