"""A takedown request from anyone, member or not (the US TAKE IT DOWN Act's notice-and-removal
process): what it is about, who asks and on what grounds, its deadline, a reviewer's
validation or rejection, the removal, and the closing. docs/takedowns.md says which part of
the law each field and step serves.

Filed → Validated → Actioned → Closed, or Filed → Rejected → Closed. The requester follows it
on a status page (its reference and a secret token); everything they are told is a
`notice` recorded here, which the operator's mail relay delivers to the contact given."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import DomainError, PermissionDeniedError, ValidationError

CATEGORIES = ("intimate_imagery", "likeness", "copyright", "other")
RELATIONS = ("depicted_person", "authorised_representative", "rights_holder")
DEADLINE = timedelta(hours=48)  # the law's; the operator may set a shorter one
_NAMESPACE = UUID("3f5f7c52-94a1-4c55-8d1e-0b8a6a3f4e21")
# The review label of each category: routes the case and picks its evidence filter.
CATEGORY_LABELS = {"intimate_imagery": "safety", "likeness": "likeness",
                   "copyright": "copyright", "other": ""}


class RequestState(StrEnum):
    FILED = "filed"
    VALIDATED = "validated"
    REJECTED = "rejected"
    ACTIONED = "actioned"
    CLOSED = "closed"


OPEN_STATES = (RequestState.FILED, RequestState.VALIDATED)


class AlreadyContestedError(DomainError):
    code = "already-contested"
    status = 409


class ProofSpentError(DomainError):
    """The proof of work was already used for another request."""

    code = "proof-of-work-spent"
    status = 409


def reference_of(proof_nonce: str) -> str:
    """A request's public reference, derived from its proof of work's nonce: a proof can
    open one request only (the reference is the aggregate's identity)."""
    return "TD-" + hashlib.sha256(proof_nonce.encode()).hexdigest()[:16].upper()


def request_id(reference: str) -> UUID:
    return uuid5(_NAMESPACE, reference.strip().upper())


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TakedownRequest(ConsentryAggregate):
    """Invariants: the fields the law names are all there (the content, a good-faith
    statement, a signature, contact details); it is validated or rejected once, by a
    reviewer, and only a validated request is actioned."""

    class Filed(ConsentryAggregate.Created):
        """`located_by`: how the content was named (`id`, `link` or `upload`, an uploaded
        copy the provenance lookup traced); `contact`: how to reach the requester."""

        reference: str
        token_digest: str
        generation_id: UUID
        located_by: str
        category: str
        relation: str
        statement: str
        signature: str
        contact: dict[str, str]
        case_id: UUID
        filed_at: datetime
        deadline: datetime

    def __init__(self, reference: str, token_digest: str, generation_id: UUID,
                 located_by: str, category: str, relation: str, statement: str,
                 signature: str, contact: dict[str, str], case_id: UUID, filed_at: datetime,
                 deadline: datetime, **kwargs: Any) -> None:
        self.reference = reference
        self.token_digest = token_digest
        self.generation_id = generation_id
        self.located_by = located_by
        self.category = category
        self.relation = relation
        self.statement = statement
        self.signature = signature
        self.contact = contact
        self.case_id = case_id
        self.filed_at = filed_at  # on the application's clock, like the deadline
        self.deadline = deadline
        self.state = RequestState.FILED
        self.escalated = False
        self.decided_by: str | None = None
        self.removed: tuple[UUID, ...] = ()
        self.removal_seconds: float | None = None
        self.notices: list[dict[str, Any]] = []
        self.outcome = ""
        # counter-notices: generation id -> {"case_id", "statement", "decision"}
        self.contests: dict[UUID, dict[str, Any]] = {}

    @classmethod
    def file(cls, actor: Actor, reference: str, token: str, generation_id: UUID,
             located_by: str, category: str, relation: str, statement: str, signature: str,
             contact: dict[str, str], case_id: UUID, now: datetime,
             deadline: timedelta = DEADLINE) -> TakedownRequest:
        if category not in CATEGORIES:
            raise ValidationError("unknown category", allowed=list(CATEGORIES))
        if relation not in RELATIONS:
            raise ValidationError("unknown relation to the content", allowed=list(RELATIONS))
        if located_by not in ("id", "link", "upload"):
            raise ValidationError("located_by is id, link or upload")
        if len(statement.strip()) < 20:
            raise ValidationError("a good-faith statement is required (at least 20 "
                                  "characters)", field="good_faith_statement")
        if len(signature.strip()) < 2:
            raise ValidationError("type your full name as your signature", field="signature")
        if not contact.get("email", "").strip() or "@" not in contact["email"]:
            raise ValidationError("an email address to reach you is required",
                                  field="contact.email")
        return cls._create(cls.Filed, id=request_id(reference), actor_id=actor.id,
                           actor_role=str(actor.role), reference=reference,
                           token_digest=token_digest(token), generation_id=generation_id,
                           located_by=located_by, category=category, relation=relation,
                           statement=statement.strip()[:4000],
                           signature=signature.strip()[:200],
                           contact={k: v.strip()[:300] for k, v in contact.items()},
                           case_id=case_id, filed_at=now, deadline=now + deadline)

    class Escalated(ConsentryAggregate.Event):
        reason: str

        def apply(self, r: TakedownRequest) -> None:
            r.escalated = True

    class Validated(ConsentryAggregate.Event):
        policy_code: str
        notice: str

        def apply(self, r: TakedownRequest) -> None:
            r.state = RequestState.VALIDATED
            r.decided_by = self.actor_id
            r.notices.append({"at": self.timestamp, "text": self.notice})

    class Rejected(ConsentryAggregate.Event):
        reasons: str
        notice: str

        def apply(self, r: TakedownRequest) -> None:
            r.state = RequestState.REJECTED
            r.decided_by = self.actor_id
            r.notices.append({"at": self.timestamp, "text": self.notice})

    class Actioned(ConsentryAggregate.Event):
        """`removed`: every video taken out of the feed for it (the one named, its remixes,
        published copies whose frames match); `seconds_since_filing`: filing to the last
        of them leaving the feed; `deadline_margin_seconds`: its deadline minus then
        (negative: late; None for requests actioned before it was recorded)."""

        removed: tuple[UUID, ...]
        seconds_since_filing: float
        notice: str
        category: str
        deadline_margin_seconds: float | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["category"], state["deadline_margin_seconds"] = "", None

        def apply(self, r: TakedownRequest) -> None:
            r.state = RequestState.ACTIONED
            r.removed = self.removed
            r.removal_seconds = self.seconds_since_filing
            r.notices.append({"at": self.timestamp, "text": self.notice})

    class Closed(ConsentryAggregate.Event):
        outcome: str

        def apply(self, r: TakedownRequest) -> None:
            r.state = RequestState.CLOSED
            r.outcome = self.outcome

    class Contested(ConsentryAggregate.Event):
        """A counter-notice: the author of a removed video contests it (once)."""

        generation_id: UUID
        statement: str
        case_id: UUID

        def apply(self, r: TakedownRequest) -> None:
            r.contests = {**r.contests, self.generation_id: {
                "case_id": self.case_id, "statement": self.statement, "decision": ""}}
            r.notices.append({"at": self.timestamp, "text": (
                "The author of a removed video sent a counter-notice; a reviewer other "
                "than the one who removed it will decide.")})

    class ContestDecided(ConsentryAggregate.Event):
        generation_id: UUID
        reinstated: bool
        reasons: str

        def apply(self, r: TakedownRequest) -> None:
            r.contests = {**r.contests, self.generation_id: {
                **r.contests[self.generation_id],
                "decision": "reinstated" if self.reinstated else "upheld"}}
            r.notices.append({"at": self.timestamp, "text": (
                "After a counter-notice, a removed video was reinstated: " + self.reasons
                if self.reinstated else "The counter-notice was not accepted; the video "
                "stays removed.")})

    # -- commands --------------------------------------------------------------------
    def contest(self, actor: Actor, generation_id: UUID, statement: str,
                case_id: UUID) -> None:
        self._require(self.outcome == "removed" and generation_id in self.removed,
                      "only a video this request removed can be contested")
        if generation_id in self.contests:
            raise AlreadyContestedError("a removal is contested once")
        if len(statement.strip()) < 20:
            raise ValidationError("a counter-notice states why (at least 20 characters)",
                                  field="statement")
        self._emit(self.Contested, actor, generation_id=generation_id,
                   statement=statement.strip()[:4000], case_id=case_id)

    def decide_contest(self, actor: Actor, generation_id: UUID, reinstated: bool,
                       reasons: str) -> None:
        contest = self.contests.get(generation_id)
        self._require(contest is not None and not contest["decision"],
                      "no open counter-notice for this video")
        if actor.id == self.decided_by:
            raise PermissionDeniedError("a counter-notice is decided by a reviewer other "
                                        "than the one who validated the request")
        self._emit(self.ContestDecided, actor, generation_id=generation_id,
                   reinstated=reinstated, reasons=reasons.strip()[:2000])

    def escalate(self, actor: Actor, reason: str) -> None:
        self._require(self.state in OPEN_STATES and not self.escalated,
                      "only an open request not yet escalated escalates")
        self._emit(self.Escalated, actor, reason=reason)

    def validate(self, actor: Actor, policy_code: str) -> None:
        self._require(self.state == RequestState.FILED, f"the request is {self.state}")
        self._emit(self.Validated, actor, policy_code=policy_code,
                   notice=f"Your request {self.reference} was found valid ({policy_code}); "
                          "the content is being removed.")

    def reject(self, actor: Actor, reasons: str) -> None:
        self._require(self.state == RequestState.FILED, f"the request is {self.state}")
        if not reasons.strip():
            raise ValidationError("a rejection states its reasons for the requester")
        self._emit(self.Rejected, actor, reasons=reasons.strip()[:2000],
                   notice=f"Your request {self.reference} was not accepted: "
                          f"{reasons.strip()[:2000]}")
        self._emit(self.Closed, actor, outcome="rejected")

    def record_removal(self, actor: Actor, removed: tuple[UUID, ...], now: datetime) -> None:
        self._require(self.state == RequestState.VALIDATED, f"the request is {self.state}")
        self._emit(self.Actioned, actor, removed=tuple(removed),
                   seconds_since_filing=max(0.0, (now - self.filed_at).total_seconds()),
                   notice=f"{len(removed)} video(s) were removed for {self.reference}.",
                   category=self.category,
                   deadline_margin_seconds=(self.deadline - now).total_seconds())
        self._emit(self.Closed, actor, outcome="removed")

    # -- queries -----------------------------------------------------------------------
    def check_token(self, token: str) -> None:
        if not hmac.compare_digest(self.token_digest, token_digest(token)):
            raise PermissionDeniedError("wrong token for this request")

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    def due(self, now: datetime, margin: timedelta) -> bool:
        """Open, not yet escalated, and within `margin` of its deadline (or past it)."""
        return self.open and not self.escalated and now >= self.deadline - margin
