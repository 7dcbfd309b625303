"""Public takedown requests (docs/takedowns.md): the challenge, the request with the fields
the TAKE IT DOWN Act names, the status page, and the reviewer's decision."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from api.schemas.review import PolicyCode
from domain.takedown import TakedownRequest

Category = Literal["intimate_imagery", "likeness", "copyright", "other"]
Relation = Literal["depicted_person", "authorised_representative", "rights_holder"]


class ChallengeOut(msgspec.Struct):
    """An ALTCHA v2 challenge (https://altcha.org): find the counter whose PBKDF2 key starts
    with `parameters.keyPrefix`, then send {challenge, solution} as base64 JSON in
    `proof_of_work`. Valid for 10 minutes, for one request."""

    challenge: dict[str, Any]


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=300,
                                       pattern=r"^[^@\s]+@[^@\s]+$")]
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=50)] = ""


class TakedownIn(msgspec.Struct, forbid_unknown_fields=True):
    """The content: its `generation_id` (what the provenance lookup answers for an uploaded
    copy: set `found_by_upload`), or a `link` to it. `good_faith_statement`: that the
    requester believes in good faith the content was published without consent (for
    intimate imagery, the law's wording); `signature`: their full name, typed."""

    proof_of_work: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    category: Category
    relation: Relation
    good_faith_statement: Annotated[str, msgspec.Meta(min_length=20, max_length=4000)]
    signature: Annotated[str, msgspec.Meta(min_length=2, max_length=200)]
    contact: ContactIn
    generation_id: Annotated[str, msgspec.Meta(max_length=36)] | None = None
    link: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    found_by_upload: bool = False


class TakedownFiledOut(msgspec.Struct):
    """`token`: shown once; with the reference it opens the status page."""

    reference: str
    token: str | None
    status_url: str
    deadline: datetime


class NoticeOut(msgspec.Struct):
    at: datetime
    text: str


class TakedownStatusOut(msgspec.Struct):
    reference: str
    state: Literal["filed", "validated", "rejected", "actioned", "closed"]
    outcome: str
    category: str
    filed_at: datetime
    deadline: datetime
    removed: int
    seconds_to_removal: float | None
    notices: list[NoticeOut]

    @classmethod
    def of(cls, r: TakedownRequest) -> TakedownStatusOut:
        return cls(reference=r.reference, state=str(r.state),  # type: ignore[arg-type]
                   outcome=r.outcome, category=r.category, filed_at=r.filed_at,
                   deadline=r.deadline, removed=len(r.removed),
                   seconds_to_removal=r.removal_seconds,
                   notices=[NoticeOut(n["at"], n["text"]) for n in r.notices])


class TakedownDecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    """`valid`: remove under `policy_code` (NCII-1, LIKENESS-1, COPYRIGHT-1...); not valid:
    `reasons` are sent to the requester (the case is approved under `policy_code`, OK-1)."""

    valid: bool
    policy_code: PolicyCode
    reasons: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class TakedownDecidedOut(msgspec.Struct):
    state: str
    removed: list[str]


class TakedownStatsOut(msgspec.Struct):
    """Filing to the last copy out of the feed, over the actioned requests."""

    filed: int
    actioned: int
    waiting_for_deadline_sweep: int
    p50_seconds: float | None
    p99_seconds: float | None


class EscalatedOut(msgspec.Struct):
    escalated: list[str]


class BankEntryOut(msgspec.Struct):
    """A hash bank entry: the frame hashes of one removed video (or one imported signal),
    why, from where; disabled entries stay, with their history."""

    id: str
    source: str
    external_id: str
    reason: str
    request: str
    generation_id: str | None
    trusted: bool
    enabled: bool
    banked_at: datetime
    hashes: int
    history: list[dict[str, Any]]


class BankSwitchIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class CounterNoticeIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the removal was a mistake (the author's statement, shown to the reviewer)."""

    statement: Annotated[str, msgspec.Meta(min_length=20, max_length=4000)]


class CounterNoticeOut(msgspec.Struct):
    case_id: str
    reference: str


class CounterNoticeDecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    """`reinstate`: the video comes back (approved under `policy_code`, OK-1) if consent
    still allows it; else the removal stands (under the removal's policy code)."""

    reinstate: bool
    policy_code: PolicyCode
    reasons: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class ImportedOut(msgspec.Struct):
    source: str
    imported: int
    already: int
    skipped: int  # lines of other signal types
    trusted: bool


class TrustIn(msgspec.Struct, forbid_unknown_fields=True):
    trusted: bool
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class TrustOut(msgspec.Struct):
    source: str
    trusted: bool
