"""A trust-and-safety case: evidence, the queue it waits in, a leased claim, a decision,
and an appeal that a second reviewer decides (four eyes). A calibration case (a copy of a
decided one, with the decision expected) looks like any other to its reviewer and never
acts on content."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import PermissionDeniedError, ValidationError

DECISIONS = ("approve", "remove", "restrict")
PRIORITIES = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
LEASE = timedelta(minutes=15)


class CaseState(StrEnum):
    OPEN = "open"
    DECIDED = "decided"
    APPEALED = "appealed"
    CLOSED = "closed"


WORK_STATES = (CaseState.OPEN, CaseState.APPEALED)  # what a reviewer can act on

# Content labels of the rules that send a case to a person: they route the case to a
# queue and choose how its evidence is first shown.
_RULE_LABELS = {
    "likeness": ("FACE-CONSENTED", "FACE-NOT-OTHERS", "CAMEO-ENABLED", "CAMEO-PERMISSION",
                 "CAMEO-RESTRICTIONS", "PUBLIC-FIGURE", "REMIX-CONSENT", "VOICE-NOT-OTHERS"),
    "copyright": ("WORK-LICENSED", "WORK-VISUAL"),
    "safety": ("SAFETY",),
}


def labels_of(rule_codes: Iterable[str]) -> tuple[str, ...]:
    codes = set(rule_codes)
    return tuple(label for label, rules in _RULE_LABELS.items() if codes & set(rules))


def report_labels(category: str) -> tuple[str, ...]:
    """A member's report: `report`, and the label of what it is about."""
    about = {"likeness": "likeness", "copyright": "copyright", "spam": "", "other": ""}
    label = about.get(category, "safety")  # the rest are the prompt safety categories
    return ("report", label) if label else ("report",)


class ReviewerInvolvedError(PermissionDeniedError):
    """The reviewer is part of the content: its author, the author of a video it remixes,
    or someone in it."""

    code = "reviewer-involved"


class ReviewCase(ConsentryAggregate):
    """Invariants: only the holder of an unexpired claim decides; nobody decides a case about
    their own content; one appeal, by the author, decided by someone other than the first
    decider."""

    class Opened(ConsentryAggregate.Created):
        """`calibration`: for a golden-set copy, the item it copies and the decision
        expected (empty for a real case)."""

        subject_kind: str
        subject_id: UUID
        subject_owner_id: UUID | None
        reason: str
        evidence: dict[str, Any]
        priority: int
        queue: str
        labels: tuple[str, ...]
        calibration: dict[str, str]
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(queue="general", labels=[], calibration={})

    def __init__(self, subject_kind: str, subject_id: UUID, subject_owner_id: UUID | None,
                 reason: str, evidence: dict[str, Any], priority: int, queue: str,
                 labels: tuple[str, ...], calibration: dict[str, str],
                 **kwargs: Any) -> None:
        self.subject_kind = subject_kind
        self.subject_id = subject_id
        self.subject_owner_id = subject_owner_id
        self.reason = reason
        self.evidence = evidence
        self.priority = priority
        self.queue = queue
        self.labels = labels
        self.calibration = calibration
        self.state = CaseState.OPEN
        self.claimed_by: str | None = None
        self.lease_until: datetime | None = None
        self.claimed_at: datetime | None = None
        self.escalated = False
        self.decision: str | None = None
        self.policy_code = ""
        self.decided_by: str | None = None
        self.decided_in = queue
        self.appeal_decision: str | None = None
        self.appeal_decided_by: str | None = None
        self.report_ids: list[UUID] = []
        self.comments: list[dict[str, Any]] = []

    @classmethod
    def open(cls, actor: Actor, subject_kind: str, subject_id: UUID,
             subject_owner_id: UUID | None, reason: str, evidence: dict[str, Any],
             priority: str = "normal", *, queue: str = "general",
             labels: tuple[str, ...] = (), calibration: dict[str, str] | None = None
             ) -> ReviewCase:
        if priority not in PRIORITIES:
            raise ValidationError("unknown priority", allowed=list(PRIORITIES))
        return cls._create(cls.Opened, id=uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), subject_kind=subject_kind,
                           subject_id=subject_id, subject_owner_id=subject_owner_id,
                           reason=reason, evidence=dict(evidence),
                           priority=PRIORITIES[priority], queue=queue,
                           labels=tuple(labels), calibration=dict(calibration or {}))

    @classmethod
    def calibration_copy(cls, actor: Actor, original: ReviewCase, decision: str,
                         policy_code: str) -> ReviewCase:
        """A golden-set item: the decided case again, open in the queue it was decided in,
        with the decision a reviewer is expected to take."""
        if original.state not in (CaseState.DECIDED, CaseState.CLOSED) \
                or original.is_calibration:
            raise ValidationError("only a decided real case can become a calibration item")
        _check_decision(decision, policy_code)
        return cls._create(cls.Opened, id=uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), subject_kind=original.subject_kind,
                           subject_id=original.subject_id,
                           subject_owner_id=original.subject_owner_id,
                           reason=original.reason, evidence=dict(original.evidence),
                           priority=PRIORITIES["normal"], queue=original.decided_in,
                           labels=original.labels,
                           calibration={"of": str(original.id), "decision": decision,
                                        "policy_code": policy_code})

    @property
    def is_calibration(self) -> bool:
        return bool(self.calibration)

    class Claimed(ConsentryAggregate.Event):
        """`claimed_at`: when its holder first claimed it (a renewal keeps the time), on
        the application's clock, like the lease."""

        reviewer_id: str
        lease_until: datetime
        claimed_at: datetime
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["claimed_at"] = state["lease_until"] - LEASE

        def apply(self, case: ReviewCase) -> None:
            case.claimed_by = self.reviewer_id
            case.lease_until = self.lease_until
            case.claimed_at = self.claimed_at

    class Released(ConsentryAggregate.Event):
        def apply(self, case: ReviewCase) -> None:
            case.claimed_by = None
            case.lease_until = None
            case.claimed_at = None

    class Commented(ConsentryAggregate.Event):
        text: str
        internal: bool

        def apply(self, case: ReviewCase) -> None:
            case.comments.append({"by": self.actor_id, "text": self.text,
                                  "internal": self.internal, "at": self.timestamp})

    class Escalated(ConsentryAggregate.Event):
        """`to_queue`: the senior queue it moved to (its own when it has none);
        `released`: the claim went with it (asked for, moved to another queue, or a lead
        moving someone else's case); otherwise its holder keeps it."""

        reason: str
        released: bool
        to_queue: str
        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["released"] = True  # v1 always dropped the claim

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["to_queue"] = ""  # v2 did not move cases between queues

        def apply(self, case: ReviewCase) -> None:
            case.escalated = True
            case.priority = 0
            if self.to_queue:
                case.queue = self.to_queue
            if self.released:
                case.claimed_by = None
                case.lease_until = None
                case.claimed_at = None

    class EvidenceViewed(ConsentryAggregate.Event):
        """A staff member looked at an item of the evidence (`frame:<n>`, `video`), as
        filtered, or unblurred."""

        item: str
        unblurred: bool

    class ReportAttached(ConsentryAggregate.Event):
        report_id: UUID

        def apply(self, case: ReviewCase) -> None:
            case.report_ids.append(self.report_id)

    class Decided(ConsentryAggregate.Event):
        """`handle_seconds`: from the decider's claim to the decision."""

        decision: str
        policy_code: str
        handle_seconds: float | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["handle_seconds"] = None

        def apply(self, case: ReviewCase) -> None:
            case.state = CaseState.DECIDED
            case.decided_in = case.queue
            case.decision = self.decision
            case.policy_code = self.policy_code
            case.decided_by = self.actor_id
            case.claimed_by = None
            case.lease_until = None
            case.claimed_at = None

    class Appealed(ConsentryAggregate.Event):
        """`to_queue`: where appeals are decided (empty: it stays where it was)."""

        text: str
        to_queue: str
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["to_queue"] = ""

        def apply(self, case: ReviewCase) -> None:
            case.state = CaseState.APPEALED
            if self.to_queue:
                case.queue = self.to_queue

    class AppealDecided(ConsentryAggregate.Event):
        decision: str
        policy_code: str
        handle_seconds: float | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["handle_seconds"] = None

        def apply(self, case: ReviewCase) -> None:
            case.state = CaseState.CLOSED
            case.appeal_decision = self.decision
            case.appeal_decided_by = self.actor_id
            case.claimed_by = None
            case.lease_until = None
            case.claimed_at = None

    def _claim_is_live(self, now: datetime) -> bool:
        return self.claimed_by is not None and self.lease_until is not None \
            and now < self.lease_until

    def _check_not_own(self, actor: Actor) -> None:
        if self.subject_owner_id is not None and actor.id == str(self.subject_owner_id):
            raise ReviewerInvolvedError("a reviewer cannot review their own content")

    def claim(self, actor: Actor, now: datetime, lease: timedelta = LEASE) -> None:
        self._require(self.state in WORK_STATES, f"case is {self.state}")
        self._check_not_own(actor)
        if self._claim_is_live(now) and self.claimed_by != actor.id:
            raise PermissionDeniedError("case is claimed by another reviewer",
                                        lease_until=str(self.lease_until))
        if self.state == CaseState.APPEALED and self.decided_by == actor.id:
            raise PermissionDeniedError("the appeal goes to a different reviewer")
        renewal = self.claimed_by == actor.id and self.claimed_at is not None
        self._emit(self.Claimed, actor, reviewer_id=actor.id, lease_until=now + lease,
                   claimed_at=self.claimed_at if renewal else now)

    def release(self, actor: Actor) -> None:
        if self.claimed_by != actor.id:
            raise PermissionDeniedError("only the claimant can release a case")
        self._emit(self.Released, actor)

    def comment(self, actor: Actor, text: str, internal: bool = True) -> None:
        if not text.strip():
            raise ValidationError("a comment needs text")
        self._emit(self.Commented, actor, text=text, internal=internal)

    def escalate(self, actor: Actor, reason: str, now: datetime, to_queue: str,
                 release: bool = False, lead: bool = False) -> None:
        """Moves the case to `to_queue` (its queue's senior one). Only the claim's holder,
        or a lead, moves a claimed case; the holder keeps the claim unless they release it
        or the case changes queue. A lead escalating someone else's claim releases it (the
        event says so)."""
        self._require(self.state in WORK_STATES, f"case is {self.state}")
        held_by_other = self._claim_is_live(now) and self.claimed_by != actor.id
        if held_by_other and not lead:
            raise PermissionDeniedError("the case is claimed by another reviewer: only they "
                                        "or a lead can escalate it",
                                        lease_until=str(self.lease_until))
        moved = to_queue != self.queue
        self._emit(self.Escalated, actor, reason=reason,
                   released=release or held_by_other or moved,
                   to_queue=to_queue if moved else "")

    def view(self, actor: Actor, item: str, unblurred: bool) -> None:
        self._emit(self.EvidenceViewed, actor, item=item, unblurred=unblurred)

    def attach_report(self, actor: Actor, report_id: UUID) -> None:
        self._emit(self.ReportAttached, actor, report_id=report_id)

    def _check_claim(self, actor: Actor, now: datetime) -> None:
        self._check_not_own(actor)
        if self.claimed_by != actor.id or not self._claim_is_live(now):
            raise PermissionDeniedError("claim the case (or renew an expired claim) first")

    def decide(self, actor: Actor, decision: str, policy_code: str, now: datetime) -> None:
        self._require(self.state == CaseState.OPEN, f"case is {self.state}")
        _check_decision(decision, policy_code)
        self._check_claim(actor, now)
        self._emit(self.Decided, actor, decision=decision, policy_code=policy_code,
                   handle_seconds=self._handled(now))

    def appeal(self, actor: Actor, text: str, to_queue: str = "") -> None:
        self._require(self.state == CaseState.DECIDED,
                      "only a decided case can be appealed, once")
        if self.subject_owner_id is None or actor.id != str(self.subject_owner_id) \
                or self.is_calibration:
            raise PermissionDeniedError("only the author can appeal")
        self._emit(self.Appealed, actor, text=text,
                   to_queue=to_queue if to_queue != self.queue else "")

    def decide_appeal(self, actor: Actor, decision: str, policy_code: str,
                      now: datetime) -> None:
        self._require(self.state == CaseState.APPEALED, f"case is {self.state}")
        _check_decision(decision, policy_code)
        if actor.id == self.decided_by:
            raise PermissionDeniedError("an appeal is decided by a different reviewer")
        self._check_claim(actor, now)
        self._emit(self.AppealDecided, actor, decision=decision, policy_code=policy_code,
                   handle_seconds=self._handled(now))

    def _handled(self, now: datetime) -> float | None:
        return (now - self.claimed_at).total_seconds() if self.claimed_at else None

    @property
    def final_decision(self) -> str | None:
        return self.appeal_decision or self.decision


def _check_decision(decision: str, policy_code: str) -> None:
    if decision not in DECISIONS:
        raise ValidationError("unknown decision", allowed=list(DECISIONS))
    if not policy_code.strip():
        raise ValidationError("a decision needs a policy code")
