"""The review configuration: policy catalogue, queues, routing rules, wellness defaults and
the strike policy."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from domain.review_config import Policy, Queue, ReviewConfig, Rule

Action = Literal["approve", "remove", "restrict"]
Grade = Literal["triage", "reviewer", "senior"]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Word = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
QueueName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$",
                                        examples=["likeness"])]


class PolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    description: Annotated[str, msgspec.Meta(max_length=2000)]
    severity: Annotated[int, msgspec.Meta(ge=0, le=5)]
    actions: Annotated[list[Action], msgspec.Meta(min_length=1, max_length=3)]


class PolicyOut(msgspec.Struct):
    code: str
    title: str
    description: str
    severity: int
    actions: list[str]
    retired: bool

    @classmethod
    def of(cls, p: Policy) -> PolicyOut:
        return cls(p.code, p.title, p.description, p.severity, list(p.actions), p.retired)


class QueueIn(msgspec.Struct, forbid_unknown_fields=True):
    """`decisions`: each grade that works the queue, with what it may decide there;
    `senior`: where escalation moves a case (none: it stays, at the front)."""

    title: Title
    decisions: dict[Grade, Annotated[list[Action], msgspec.Meta(min_length=1, max_length=3)]]
    senior: QueueName | None = None


class QueueOut(msgspec.Struct):
    name: str
    title: str
    decisions: dict[str, list[str]]
    senior: str | None

    @classmethod
    def of(cls, q: Queue) -> QueueOut:
        return cls(q.name, q.title, {g: list(d) for g, d in q.decisions.items()}, q.senior)


class RuleIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new case goes to `queue` when it has one of `labels` or its reason contains one of
    `reasons` (rules are tried in the order they were added; none matching: the default
    queue)."""

    queue: QueueName
    labels: Annotated[list[Word], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list)
    reasons: Annotated[list[Word], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list)


class RuleOut(msgspec.Struct):
    rule_id: str
    queue: str
    labels: list[str]
    reasons: list[str]

    @classmethod
    def of(cls, r: Rule) -> RuleOut:
        return cls(r.rule_id, r.queue, list(r.labels), list(r.reasons))


class FilterIO(msgspec.Struct, forbid_unknown_fields=True):
    blur: bool
    grayscale: bool


class StrikePolicyIO(msgspec.Struct, forbid_unknown_fields=True):
    """A removal under a code of at least `min_severity` is a strike, live for
    `lifetime_days`; `limit` live strikes suspend generation for `suspension_days`."""

    min_severity: Annotated[int, msgspec.Meta(ge=0, le=5)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)]
    lifetime_days: Annotated[int, msgspec.Meta(ge=1, le=3650)]
    suspension_days: Annotated[int, msgspec.Meta(ge=1, le=3650)]


class ReviewConfigOut(msgspec.Struct):
    """`wellness`: how evidence of each content label is first shown (labels not listed:
    blurred and in grayscale)."""

    default_queue: str
    appeals_queue: str
    policies: list[PolicyOut]
    queues: list[QueueOut]
    rules: list[RuleOut]
    wellness: dict[str, FilterIO]
    strikes: StrikePolicyIO

    @classmethod
    def of(cls, c: ReviewConfig) -> ReviewConfigOut:
        return cls(
            default_queue=c.default_queue, appeals_queue=c.appeals_queue,
            policies=[PolicyOut.of(p) for p in c.policies.values()],
            queues=[QueueOut.of(q) for q in c.queues.values()],
            rules=[RuleOut.of(r) for r in c.rules],
            wellness={k: FilterIO(v.blur, v.grayscale) for k, v in c.wellness.items()},
            strikes=StrikePolicyIO(c.strikes.min_severity, c.strikes.limit,
                                   c.strikes.lifetime_days, c.strikes.suspension_days))
