"""Rights holders, their keys, works, references, grants and usage (the consent API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from api.schemas.consent import Category
from domain.grant import Grant
from domain.work import Work
from projections.generation_status import GenerationRow
from projections.work_usage import Usage
from projections.works import RightsHolderSummary, WorkSummary

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Alias = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Reason = Annotated[str, msgspec.Meta(max_length=2000)]
Aware = Annotated[datetime, msgspec.Meta(tz=True)]
Kind = Literal["character", "brand", "artwork", "voice", "likeness"]
Audience = Literal["everyone", "members", "tiers"]
Use = Literal["generate", "remix"]
Tier = Literal["free", "pro"]


class OnboardIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    proof: Annotated[str, msgspec.Meta(min_length=1, max_length=2000,
                                       description="reference to the proof of ownership")]


class OnboardedOut(msgspec.Struct):
    """The organisation's first key, shown once (a retried request says it was redacted)."""

    id: str
    key_id: str | None
    secret: str | None
    secret_redacted: bool = False


class KeyIn(msgspec.Struct, forbid_unknown_fields=True):
    label: Label


class KeyOut(msgspec.Struct):
    key_id: str
    label: str


class IssuedKeyOut(msgspec.Struct):
    key_id: str | None
    secret: str | None
    secret_redacted: bool = False


class RightsHolderOut(msgspec.Struct):
    id: str
    name: str
    proof: str
    onboarded_at: datetime
    keys: list[KeyOut]


class RightsHolderSummaryOut(msgspec.Struct):
    id: str
    name: str
    onboarded_at: datetime
    work_count: int

    @classmethod
    def of(cls, row: RightsHolderSummary) -> RightsHolderSummaryOut:
        return cls(id=str(row.id), name=row.name, onboarded_at=row.onboarded_at,
                   work_count=row.work_count)


class RightsHolderPage(msgspec.Struct):
    items: list[RightsHolderSummaryOut]
    next_cursor: str | None


class WorkIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Name
    kind: Kind
    aliases: Annotated[list[Alias], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list)
    description: Annotated[str, msgspec.Meta(max_length=4000)] = ""
    likeness_member_id: str | None = None
    # what a video found using it after the fact does: block, review (a case) or track
    match_policy: Literal["block", "review", "track"] = "review"


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason = ""


class ReferenceOut(msgspec.Struct):
    digest: str
    media_type: str
    # "indexed": generated videos are matched against it (by `matched_by`: "pdq",
    # "embedding"); "too-plain": too little detail to hash and no embedding model.
    visual_matching: str = "pending"
    matched_by: list[str] = msgspec.field(default_factory=list)
    # A likeness work's reference: its face is in the 1:N face index (FACE-NOT-OTHERS).
    face_enrolled: bool = False

    @classmethod
    def of(cls, digest: str, reference: dict[str, Any]) -> ReferenceOut:
        methods = (["pdq"] if reference["hashes"] else []) + \
            (["embedding"] if reference["embedding_ref"] else [])
        return cls(digest=digest, media_type=reference["media_type"],
                   visual_matching="indexed" if methods else "too-plain", matched_by=methods,
                   face_enrolled=bool(reference.get("face_enrolled")))


class WorkOut(msgspec.Struct):
    id: str
    rights_holder_id: str
    title: str
    kind: str
    aliases: list[str]
    description: str
    likeness_member_id: str | None
    withdrawn: bool
    references: list[ReferenceOut]
    grant_ids: list[str]
    registered_at: datetime

    @classmethod
    def of(cls, work: Work) -> WorkOut:
        return cls(
            id=str(work.id), rights_holder_id=str(work.rights_holder_id), title=work.title,
            kind=work.kind, aliases=list(work.aliases), description=work.description,
            likeness_member_id=str(work.likeness_member_id) if work.likeness_member_id
            else None, withdrawn=work.withdrawn,
            references=[ReferenceOut.of(d, r) for d, r in work.references.items()],
            grant_ids=[str(g) for g in work.grant_ids], registered_at=work.created_on)


class WorkSummaryOut(msgspec.Struct):
    id: str
    title: str
    kind: str
    aliases: list[str]
    withdrawn: bool
    grant_ids: list[str]
    reference_count: int
    registered_at: datetime

    @classmethod
    def of(cls, row: WorkSummary) -> WorkSummaryOut:
        return cls(id=str(row.id), title=row.title, kind=row.kind, aliases=list(row.aliases),
                   withdrawn=row.withdrawn, grant_ids=[str(g) for g in row.grant_ids],
                   reference_count=row.reference_count, registered_at=row.registered_at)


class WorkPage(msgspec.Struct):
    items: list[WorkSummaryOut]
    next_cursor: str | None


class GrantIn(msgspec.Struct, forbid_unknown_fields=True):
    """Who may use the work, for what, and when. A grant is opt-in: without one, prompts
    naming the work are denied (WORK-LICENSED)."""

    audience: Audience = "everyone"
    members: Annotated[list[str], msgspec.Meta(max_length=1000)] = msgspec.field(
        default_factory=list)
    tiers: list[Tier] = msgspec.field(default_factory=list)
    uses: list[Use] = msgspec.field(default_factory=lambda: ["generate"])
    forbidden_categories: list[Category] = msgspec.field(default_factory=list)
    attribution_required: bool = False
    valid_from: Aware | None = None
    valid_until: Aware | None = None


class GrantOut(msgspec.Struct):
    id: str
    work_id: str
    status: Literal["active", "scheduled", "revoked", "expired"]
    audience: str
    members: list[str]
    tiers: list[str]
    uses: list[str]
    forbidden_categories: list[str]
    attribution_required: bool
    valid_from: datetime | None
    valid_until: datetime | None
    issued_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, grant: Grant, now: datetime) -> GrantOut:
        t = grant.terms
        status: Any = "revoked" if grant.revoked else "expired" if grant.expired \
            or (t.valid_until is not None and now >= t.valid_until) \
            else "scheduled" if t.valid_from is not None and now < t.valid_from else "active"
        return cls(id=str(grant.id), work_id=str(grant.work_id), status=status,
                   audience=t.audience, members=[str(m) for m in t.members],
                   tiers=list(t.tiers), uses=list(t.uses),
                   forbidden_categories=list(t.forbidden_categories),
                   attribution_required=t.attribution_required, valid_from=t.valid_from,
                   valid_until=t.valid_until, issued_at=grant.created_on,
                   updated_at=grant.modified_on)


class GrantList(msgspec.Struct):
    items: list[GrantOut]


# What a takedown's cause may tell a rights holder: which kind of revocation and which
# rules failed, not whose consent it was (that could be a member's cameo).
CAUSE_FIELDS = ("kind", "rules")


class UsageOut(msgspec.Struct):
    """One generation that used the work. Drafts are private to their author and the
    people in them, so a rights holder sees what happened to the video, not its prompt or
    who asked for it."""

    generation_id: str
    state: str
    outcome: str
    inherited: bool  # shown because a remix source did (the grant's `remix` use applied)
    found_in_frames: bool  # seen by the protected-work scan, not named by the prompt
    seconds: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    takedown_cause: dict[str, str]

    @classmethod
    def of(cls, usage: Usage, row: GenerationRow) -> UsageOut:
        return cls(generation_id=str(row.id), state=row.state, outcome=row.outcome,
                   inherited=usage.inherited, found_in_frames=usage.visual,
                   seconds=row.seconds, created_at=row.created_at,
                   updated_at=row.updated_at, published_at=row.published_at,
                   takedown_cause={k: v for k, v in row.takedown_cause.items()
                                   if k in CAUSE_FIELDS})


class UsagePage(msgspec.Struct):
    items: list[UsageOut]
    next_cursor: str | None

