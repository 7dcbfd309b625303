"""A trust-and-safety case: evidence, a leased claim, a decision, and an appeal that a
second reviewer decides (four eyes)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import PermissionDeniedError, ValidationError

DECISIONS = ("approve", "remove", "restrict")
PRIORITIES = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
LEASE = timedelta(minutes=15)


class ReviewCase(ConsentryAggregate):
    """Invariants: only the holder of an unexpired claim decides; nobody decides a case about
    their own content; one appeal, by the author, decided by someone other than the first
    decider."""

    class Opened(ConsentryAggregate.Created):
        subject_kind: str
        subject_id: UUID
        subject_owner_id: UUID | None
        reason: str
        evidence: dict[str, Any]
        priority: int

    def __init__(self, subject_kind: str, subject_id: UUID, subject_owner_id: UUID | None,
                 reason: str, evidence: dict[str, Any], priority: int, **kwargs: Any) -> None:
        self.subject_kind = subject_kind
        self.subject_id = subject_id
        self.subject_owner_id = subject_owner_id
        self.reason = reason
        self.evidence = evidence
        self.priority = priority
        self.state = "open"
        self.claimed_by: str | None = None
        self.lease_until: datetime | None = None
        self.escalated = False
        self.decision: str | None = None
        self.policy_code = ""
        self.decided_by: str | None = None
        self.appeal_decision: str | None = None
        self.appeal_decided_by: str | None = None
        self.report_ids: list[UUID] = []
        self.comments: list[dict[str, Any]] = []

    @classmethod
    def open(cls, actor: Actor, subject_kind: str, subject_id: UUID,
             subject_owner_id: UUID | None, reason: str, evidence: dict[str, Any],
             priority: str = "normal") -> ReviewCase:
        if priority not in PRIORITIES:
            raise ValidationError("unknown priority", allowed=list(PRIORITIES))
        return cls._create(cls.Opened, id=uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), subject_kind=subject_kind,
                           subject_id=subject_id, subject_owner_id=subject_owner_id,
                           reason=reason, evidence=dict(evidence),
                           priority=PRIORITIES[priority])

    class Claimed(ConsentryAggregate.Event):
        reviewer_id: str
        lease_until: datetime

        def apply(self, case: ReviewCase) -> None:
            case.claimed_by = self.reviewer_id
            case.lease_until = self.lease_until

    class Released(ConsentryAggregate.Event):
        def apply(self, case: ReviewCase) -> None:
            case.claimed_by = None
            case.lease_until = None

    class Commented(ConsentryAggregate.Event):
        text: str
        internal: bool

        def apply(self, case: ReviewCase) -> None:
            case.comments.append({"by": self.actor_id, "text": self.text,
                                  "internal": self.internal, "at": self.timestamp})

    class Escalated(ConsentryAggregate.Event):
        """`released`: the claim went with it (asked for, or by a lead moving someone
        else's case); otherwise its holder keeps it."""

        reason: str
        released: bool
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["released"] = True  # v1 always dropped the claim

        def apply(self, case: ReviewCase) -> None:
            case.escalated = True
            case.priority = 0
            if self.released:
                case.claimed_by = None
                case.lease_until = None

    class ReportAttached(ConsentryAggregate.Event):
        report_id: UUID

        def apply(self, case: ReviewCase) -> None:
            case.report_ids.append(self.report_id)

    class Decided(ConsentryAggregate.Event):
        decision: str
        policy_code: str

        def apply(self, case: ReviewCase) -> None:
            case.state = "decided"
            case.decision = self.decision
            case.policy_code = self.policy_code
            case.decided_by = self.actor_id
            case.claimed_by = None
            case.lease_until = None

    class Appealed(ConsentryAggregate.Event):
        text: str

        def apply(self, case: ReviewCase) -> None:
            case.state = "appealed"

    class AppealDecided(ConsentryAggregate.Event):
        decision: str
        policy_code: str

        def apply(self, case: ReviewCase) -> None:
            case.state = "closed"
            case.appeal_decision = self.decision
            case.appeal_decided_by = self.actor_id
            case.claimed_by = None
            case.lease_until = None

    def _claim_is_live(self, now: datetime) -> bool:
        return self.claimed_by is not None and self.lease_until is not None \
            and now < self.lease_until

    def _check_not_own(self, actor: Actor) -> None:
        if self.subject_owner_id is not None and actor.id == str(self.subject_owner_id):
            raise PermissionDeniedError("a reviewer cannot review their own content")

    def claim(self, actor: Actor, now: datetime, lease: timedelta = LEASE) -> None:
        self._require(self.state in ("open", "appealed"), f"case is {self.state}")
        self._check_not_own(actor)
        if self._claim_is_live(now) and self.claimed_by != actor.id:
            raise PermissionDeniedError("case is claimed by another reviewer",
                                        lease_until=str(self.lease_until))
        if self.state == "appealed" and self.decided_by == actor.id:
            raise PermissionDeniedError("the appeal goes to a different reviewer")
        self._emit(self.Claimed, actor, reviewer_id=actor.id, lease_until=now + lease)

    def release(self, actor: Actor) -> None:
        if self.claimed_by != actor.id:
            raise PermissionDeniedError("only the claimant can release a case")
        self._emit(self.Released, actor)

    def comment(self, actor: Actor, text: str, internal: bool = True) -> None:
        if not text.strip():
            raise ValidationError("a comment needs text")
        self._emit(self.Commented, actor, text=text, internal=internal)

    def escalate(self, actor: Actor, reason: str, now: datetime, release: bool = False,
                 lead: bool = False) -> None:
        """Only the claim's holder, or a lead, moves a claimed case; the holder keeps the
        claim unless they release it. A lead escalating someone else's claim releases it
        (and the event says so)."""
        self._require(self.state in ("open", "appealed"), f"case is {self.state}")
        held_by_other = self._claim_is_live(now) and self.claimed_by != actor.id
        if held_by_other and not lead:
            raise PermissionDeniedError("the case is claimed by another reviewer: only they "
                                        "or a lead can escalate it",
                                        lease_until=str(self.lease_until))
        self._emit(self.Escalated, actor, reason=reason, released=release or held_by_other)

    def attach_report(self, actor: Actor, report_id: UUID) -> None:
        self._emit(self.ReportAttached, actor, report_id=report_id)

    def _check_claim(self, actor: Actor, now: datetime) -> None:
        self._check_not_own(actor)
        if self.claimed_by != actor.id or not self._claim_is_live(now):
            raise PermissionDeniedError("claim the case (or renew an expired claim) first")

    def decide(self, actor: Actor, decision: str, policy_code: str, now: datetime) -> None:
        self._require(self.state == "open", f"case is {self.state}")
        _check_decision(decision, policy_code)
        self._check_claim(actor, now)
        self._emit(self.Decided, actor, decision=decision, policy_code=policy_code)

    def appeal(self, actor: Actor, text: str) -> None:
        self._require(self.state == "decided", "only a decided case can be appealed, once")
        if self.subject_owner_id is None or actor.id != str(self.subject_owner_id):
            raise PermissionDeniedError("only the author can appeal")
        self._emit(self.Appealed, actor, text=text)

    def decide_appeal(self, actor: Actor, decision: str, policy_code: str,
                      now: datetime) -> None:
        self._require(self.state == "appealed", f"case is {self.state}")
        _check_decision(decision, policy_code)
        if actor.id == self.decided_by:
            raise PermissionDeniedError("an appeal is decided by a different reviewer")
        self._check_claim(actor, now)
        self._emit(self.AppealDecided, actor, decision=decision, policy_code=policy_code)

    @property
    def final_decision(self) -> str | None:
        return self.appeal_decision or self.decision


def _check_decision(decision: str, policy_code: str) -> None:
    if decision not in DECISIONS:
        raise ValidationError("unknown decision", allowed=list(DECISIONS))
    if not policy_code.strip():
        raise ValidationError("a decision needs a policy code")
