"""Review queue commands. A decision acts on its subject in the same transaction: approve
lets a held generation go on (or restores a taken-down one), remove rejects or takes it
down, restrict keeps it off the feed. On a suspected duplicate identity, approve verifies
the held identity and anything else leaves it unverified."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from domain.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from domain.faces import members_seen
from domain.generation import REVIEW_CODE_PREFIX, Generation, State
from domain.identity import Identity
from domain.member import Member
from domain.report import Report
from domain.review_case import ReviewCase
from domain.services.access import require_role
from domain.services.generations import GenerationCommands
from domain.staff import Staff

URGENT_CATEGORIES = ("minors", "self_harm")


class ReviewCommands(GenerationCommands):
    def _case_command(self, name: str, actor: Actor, case_id: UUID, key: str | None,
                      args: dict[str, Any], act: Any, roles: tuple[Role, ...] = (
                          Role.REVIEWER, Role.ADMIN)) -> str:
        require_role(actor, *roles)

        def body() -> tuple[str, list[Any]]:
            case = self.get(ReviewCase, case_id, "case")
            if actor.role != Role.MEMBER:
                self.check_not_own_case(actor, case)
            changed = [case, *act(case)]
            return case.state, changed

        return self.run(name, actor, key, {"case": case_id, **args}, body)

    def check_not_own_case(self, actor: Actor, case: ReviewCase) -> None:
        """Nobody reviews a video they are part of: its author, the authors of the videos it
        remixes, and everyone who appears in it (cameos requested or inherited, and faces
        the scan matched to a member). The case checks the reviewer's own id; a staff
        member's linked member account is known only to their `Staff` record."""
        staff = self.find(Staff, UUID(actor.id)) if _is_uuid(actor.id) else None
        if staff is None or staff.member_id is None:
            return
        if staff.member_id in self.involved_members(case):
            raise PermissionDeniedError("a reviewer cannot review content they are part of")

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
        return self._case_command(
            "escalate_case", actor, case_id, key, {"r": reason, "x": release},
            lambda c: c.escalate(actor, reason, self.clock(), release,
                                 lead=actor.role == Role.ADMIN) or [])

    def decide_case(self, actor: Actor, case_id: UUID, decision: str, policy_code: str,
                    key: str | None = None) -> str:
        def act(case: ReviewCase) -> list[Any]:
            case.decide(actor, decision, policy_code, self.clock())
            return self._apply_decision(actor, case, decision, policy_code)

        return self._case_command("decide_case", actor, case_id, key,
                                  {"d": decision, "p": policy_code}, act)

    def appeal_case(self, actor: Actor, case_id: UUID, text: str, key: str | None = None
                    ) -> str:
        return self._case_command("appeal_case", actor, case_id, key, {"t": text},
                                  lambda c: c.appeal(actor, text) or [], roles=(Role.MEMBER,))

    def decide_appeal(self, actor: Actor, case_id: UUID, decision: str, policy_code: str,
                      key: str | None = None) -> str:
        def act(case: ReviewCase) -> list[Any]:
            case.decide_appeal(actor, decision, policy_code, self.clock())
            return self._apply_decision(actor, case, decision, policy_code)

        return self._case_command("decide_appeal", actor, case_id, key,
                                  {"d": decision, "p": policy_code}, act)

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
                if candidate.state == "open":
                    case = candidate
                    break
            if case is None:
                priority = "urgent" if category in URGENT_CATEGORIES else "normal"
                case = ReviewCase.open(actor, "generation", generation.id,
                                       generation.requester_id, f"report: {category}",
                                       {"reports": [category]}, priority)
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
