"""The review queue (reviewers' view of a case), authors' view of cases about their content,
and reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from api.schemas.common import Text
from api.schemas.generations import GenerationOut
from domain.review_case import PRIORITIES
from projections.review_queue import CaseRow, ReportRow

PriorityName = Literal["urgent", "high", "normal", "low"]
CaseState = Literal["open", "decided", "appealed", "closed"]
Decision = Literal["approve", "remove", "restrict"]
PolicyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9_.:-]{0,39}$",
                                         examples=["SAFETY-1"])]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
PRIORITY_NAMES = {rank: name for name, rank in PRIORITIES.items()}


class CommentIn(msgspec.Struct, forbid_unknown_fields=True):
    """`internal`: reviewers only; `author`: a note the author of the content reads."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    visibility: Literal["internal", "author"] = "internal"


class EscalateIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason
    # Give the case up with it (else its holder keeps the claim).
    release: bool = False


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    decision: Decision
    policy_code: PolicyCode


class AppealIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class ReportIn(msgspec.Struct, forbid_unknown_fields=True):
    category: Annotated[str, msgspec.Meta(max_length=40, examples=["violence", "likeness"])]
    text: Text = ""


class ReportedOut(msgspec.Struct):
    report_id: str
    case_id: str


class CommentOut(msgspec.Struct):
    by: str
    role: str
    text: str
    internal: bool
    at: str


class ReportOut(msgspec.Struct):
    id: str
    reporter_id: str
    category: str
    text: str
    filed_at: datetime

    @classmethod
    def of(cls, row: ReportRow) -> ReportOut:
        return cls(id=str(row.id), reporter_id=str(row.reporter_id), category=row.category,
                   text=row.text, filed_at=row.filed_at)


class CaseOut(msgspec.Struct):
    """A case as reviewers see it: everything, internal comments included (whether it is
    a calibration item is not shown: those are served like any other case)."""

    id: str
    subject_kind: str
    subject_id: str
    subject_owner_id: str | None
    reason: str
    priority: str
    queue: str
    labels: list[str]
    state: str
    escalated: bool
    escalation_reason: str
    claimed_by: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime
    report_count: int
    evidence: dict[str, Any]
    comments: list[CommentOut]
    decision: str | None
    policy_code: str
    decided_by: str | None
    decided_at: datetime | None
    appeal_text: str
    appeal_decision: str | None
    appeal_policy_code: str
    appeal_decided_by: str | None

    @classmethod
    def fields_of(cls, row: CaseRow) -> dict[str, Any]:
        return {
            "id": str(row.id), "subject_kind": row.subject_kind,
            "subject_id": str(row.subject_id),
            "subject_owner_id": str(row.subject_owner_id) if row.subject_owner_id else None,
            "reason": row.reason, "priority": PRIORITY_NAMES.get(row.priority, "normal"),
            "queue": row.queue, "labels": list(row.labels), "state": row.state,
            "escalated": row.escalated,
            "escalation_reason": row.escalation_reason, "claimed_by": row.claimed_by,
            "lease_until": row.lease_until, "created_at": row.created_at,
            "updated_at": row.updated_at, "report_count": row.report_count,
            "evidence": dict(row.evidence),
            "comments": [CommentOut(**c) for c in row.comments], "decision": row.decision,
            "policy_code": row.policy_code, "decided_by": row.decided_by,
            "decided_at": row.decided_at, "appeal_text": row.appeal_text,
            "appeal_decision": row.appeal_decision,
            "appeal_policy_code": row.appeal_policy_code,
            "appeal_decided_by": row.appeal_decided_by}

    @classmethod
    def of(cls, row: CaseRow) -> CaseOut:
        return cls(**cls.fields_of(row))


class CaseDetailOut(CaseOut):
    """A case with its reports and, for a generation, the generation with its full
    decision trace."""

    reports: list[ReportOut] = msgspec.field(default_factory=list)
    generation: GenerationOut | None = None


class CasePage(msgspec.Struct):
    items: list[CaseOut]
    next_cursor: str | None


class NoteOut(msgspec.Struct):
    text: str
    at: str


class AuthorCaseOut(msgspec.Struct):
    """A case as the author of its content sees it: the outcome and the notes addressed to
    them; never internal comments, evidence, reporters or reviewers' identities."""

    id: str
    subject_kind: str
    subject_id: str
    reason: str
    state: str
    created_at: datetime
    decision: str | None
    policy_code: str
    notes: list[NoteOut]
    can_appeal: bool
    appeal_text: str
    appeal_decision: str | None
    appeal_policy_code: str

    @classmethod
    def of(cls, row: CaseRow) -> AuthorCaseOut:
        return cls(id=str(row.id), subject_kind=row.subject_kind,
                   subject_id=str(row.subject_id), reason=row.reason, state=row.state,
                   created_at=row.created_at, decision=row.decision,
                   policy_code=row.policy_code,
                   notes=[NoteOut(text=n["text"], at=n["at"]) for n in row.notes_to_author],
                   can_appeal=row.state == "decided", appeal_text=row.appeal_text,
                   appeal_decision=row.appeal_decision,
                   appeal_policy_code=row.appeal_policy_code)


class AuthorCasePage(msgspec.Struct):
    items: list[AuthorCaseOut]
    next_cursor: str | None


class EvidenceItemOut(msgspec.Struct):
    """`url`: the item as first shown (filtered as `blur` and `grayscale` say); add
    `?unblurred=true` for it as it is. Every fetch is recorded on the case."""

    item: str
    media_type: str
    url: str
    blur: bool
    grayscale: bool


class EvidenceOut(msgspec.Struct):
    items: list[EvidenceItemOut]


class WellnessIn(msgspec.Struct, forbid_unknown_fields=True):
    """null for both: back to the organisation's default for the label."""

    blur: bool | None
    grayscale: bool | None


class CalibrationIn(msgspec.Struct, forbid_unknown_fields=True):
    """The decision a reviewer is expected to take on the case."""

    decision: Decision
    policy_code: PolicyCode


class CalibrationOut(msgspec.Struct):
    case_id: str


class CalibrationItemOut(msgspec.Struct):
    case_id: str
    copy_of: str
    expected_decision: str
    expected_policy_code: str
    state: str
    decided_by: str | None
    decision: str | None
    policy_code: str
    agreed: bool | None

    @classmethod
    def of(cls, row: CaseRow) -> CalibrationItemOut:
        expected = row.calibration
        agreed = None if row.decision is None else (
            row.decision == expected["decision"]
            and row.policy_code == expected["policy_code"])
        return cls(case_id=str(row.id), copy_of=expected["of"],
                   expected_decision=expected["decision"],
                   expected_policy_code=expected["policy_code"], state=row.state,
                   decided_by=row.decided_by, decision=row.decision,
                   policy_code=row.policy_code, agreed=agreed)


class CalibrationPage(msgspec.Struct):
    items: list[CalibrationItemOut]


class TallyOut(msgspec.Struct):
    pending: int
    oldest_seconds: float | None
    decided: int
    average_handle_seconds: float | None
    action_rate: float | None
    appealed: int
    overturned: int
    calibration_decided: int
    calibration_agreement: float | None


class StatisticsOut(msgspec.Struct):
    """Per queue and per reviewer (by staff id). Handle time runs from the decider's claim
    to the decision; the action rate is the share of decisions that remove or restrict;
    `overturned` counts first decisions an appeal changed; calibration items count only in
    the agreement."""

    queues: dict[str, TallyOut]
    reviewers: dict[str, TallyOut]
