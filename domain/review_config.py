"""How trust and safety works, as admins configure it: the policy catalogue (codes, their
severity and the decisions they allow), the queues (who may work each, which decisions they
may take there, where escalation goes), the routing rules that put a new case in a queue,
the wellness defaults per content label, and when removals become strikes. One aggregate,
so that its invariants (no rule routes to a missing queue) hold in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import DomainError, NotFoundError, ValidationError
from domain.staff import GRADES

REVIEW_CONFIG_ID = uuid5(UUID("7b1d3c1e-5d0a-4f51-9a57-6f1f0e1c2a10"), "review-config")
ACTIONS: tuple[str, ...] = ("approve", "remove", "restrict")
DEFAULT_LABEL = "default"  # the wellness default of a case with no content label
LABELS = (DEFAULT_LABEL, "likeness", "copyright", "safety", "report", "identity")


class PolicyNotAllowedError(DomainError):
    """The decision names a policy code that does not exist, was retired, or does not
    allow that action."""

    code = "policy-not-allowed"
    status = 422


class QueueForbidsError(DomainError):
    """The case's queue does not let this staff member work it, or take this decision."""

    code = "queue-forbids"
    status = 403


class QueueInUseError(DomainError):
    code = "queue-in-use"
    status = 409


@dataclass(frozen=True)
class Policy:
    code: str
    title: str
    description: str
    severity: int  # 0 (none) to 5 (the gravest)
    actions: tuple[str, ...]
    retired: bool = False


@dataclass(frozen=True)
class Queue:
    """`decisions`: the grades that may work the queue, each with the decisions it may
    take there (admins, the leads, work every queue and take any decision)."""

    name: str
    title: str
    decisions: dict[str, tuple[str, ...]]
    senior: str | None = None  # where escalation moves a case

    @property
    def grades(self) -> tuple[str, ...]:
        return tuple(self.decisions)


@dataclass(frozen=True)
class Rule:
    """A new case goes to `queue` when one of its labels is in `labels`, or its reason
    contains one of `reasons` (the first rule that matches, in order)."""

    rule_id: str
    queue: str
    labels: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()

    def matches(self, labels: tuple[str, ...], reason: str) -> bool:
        folded = reason.casefold()
        return bool(set(labels) & set(self.labels)) or any(
            r.casefold() in folded for r in self.reasons)


@dataclass(frozen=True)
class Filter:
    """How evidence of a content label is first shown: blurred, in grayscale, or both."""

    blur: bool = True
    grayscale: bool = True


@dataclass(frozen=True)
class StrikePolicy:
    min_severity: int = 3  # a removal under a code this severe is a strike
    limit: int = 3  # this many live strikes suspend generation
    lifetime_days: int = 90  # how long a strike stays live
    suspension_days: int = 7


DEFAULT_POLICIES = (
    Policy("OK-1", "No violation", "Nothing here breaks a rule.", 0, ("approve",)),
    Policy("SENSITIVE-1", "Sensitive, allowed off the feed",
           "Allowed, but not shown to people who did not seek it.", 1, ("restrict",)),
    Policy("SPAM-1", "Spam or scams", "Repetitive, misleading or commercial spam.", 2,
           ("remove", "restrict")),
    Policy("SAFETY-1", "Graphic violence", "Gore, cruelty, threats.", 3,
           ("remove", "restrict")),
    Policy("COPYRIGHT-1", "Unlicensed protected work",
           "A protected work shown without a grant that covers it.", 3,
           ("remove", "restrict")),
    Policy("LIKENESS-1", "Someone's likeness without consent",
           "A real person shown without their consent.", 4, ("remove",)),
    Policy("NCII-1", "Non-consensual intimate imagery",
           "Intimate imagery of a real person without their consent.", 5, ("remove",)),
    Policy("MINORS-1", "Minors at risk", "Sexualised or endangered minors.", 5, ("remove",)),
    Policy("IDENTITY-OK", "The identity is theirs",
           "A suspected duplicate identity is this person's own.", 0, ("approve",)),
    Policy("IDENTITY-DUPLICATE", "The identity is someone else's",
           "The face belongs to another enrolled person.", 4, ("remove",)),
)
_TRIAGE: tuple[str, ...] = ("approve", "restrict")  # triage never removes
_SKILLED: dict[str, tuple[str, ...]] = {"reviewer": ACTIONS, "senior": ACTIONS}
DEFAULT_QUEUES = (  # a senior queue before the queues that escalate to it
    Queue("senior", "Senior review", {"senior": ACTIONS}, None),
    Queue("appeals", "Appeals", _SKILLED, "senior"),
    Queue("general", "General", {"triage": _TRIAGE, **_SKILLED}, "senior"),
    Queue("likeness", "Likeness and identity", _SKILLED, "senior"),
    Queue("copyright", "Protected works", _SKILLED, "senior"),
    Queue("safety", "Safety", _SKILLED, "senior"),
    Queue("reports", "Member reports", {"triage": _TRIAGE, **_SKILLED}, "senior"),
)
DEFAULT_RULES = (
    Rule("likeness", "likeness", labels=("likeness",)),
    Rule("copyright", "copyright", labels=("copyright",)),
    Rule("safety", "safety", labels=("safety",)),
    Rule("reports", "reports", labels=("report",)),
)


class ReviewConfig(ConsentryAggregate):
    """Invariants: every rule routes to an existing queue, and a queue that a rule routes to
    (or that is the default, the appeals or another queue's senior) cannot be deleted; a
    decision names a live policy code that allows its action."""

    class Created(ConsentryAggregate.Created):
        default_queue: str
        appeals_queue: str

    def __init__(self, default_queue: str, appeals_queue: str, **kwargs: Any) -> None:
        self.default_queue = default_queue
        self.appeals_queue = appeals_queue
        self.policies: dict[str, Policy] = {}
        self.queues: dict[str, Queue] = {}
        self.rules: list[Rule] = []
        self.wellness: dict[str, Filter] = {}
        self.strikes = StrikePolicy()

    @classmethod
    def with_defaults(cls, actor: Actor) -> ReviewConfig:
        config = cls._create(cls.Created, id=REVIEW_CONFIG_ID, actor_id=actor.id,
                             actor_role=str(actor.role), default_queue="general",
                             appeals_queue="appeals")
        for queue in DEFAULT_QUEUES:
            config.define_queue(actor, queue)
        for policy in DEFAULT_POLICIES:
            config.define_policy(actor, policy)
        for rule in DEFAULT_RULES:
            config.add_rule(actor, rule)
        return config

    class PolicyDefined(ConsentryAggregate.Event):
        code: str
        title: str
        description: str
        severity: int
        actions: tuple[str, ...]

        def apply(self, c: ReviewConfig) -> None:
            c.policies[self.code] = Policy(self.code, self.title, self.description,
                                           self.severity, self.actions)

    class PolicyRetired(ConsentryAggregate.Event):
        code: str

        def apply(self, c: ReviewConfig) -> None:
            policy = c.policies[self.code]
            c.policies[self.code] = Policy(policy.code, policy.title, policy.description,
                                           policy.severity, policy.actions, retired=True)

    class QueueDefined(ConsentryAggregate.Event):
        name: str
        title: str
        decisions: dict[str, list[str]]
        senior: str | None

        def apply(self, c: ReviewConfig) -> None:
            c.queues[self.name] = Queue(
                self.name, self.title, {g: tuple(d) for g, d in self.decisions.items()},
                self.senior)

    class QueueDeleted(ConsentryAggregate.Event):
        name: str

        def apply(self, c: ReviewConfig) -> None:
            c.queues.pop(self.name, None)

    class RuleAdded(ConsentryAggregate.Event):
        rule_id: str
        queue: str
        labels: tuple[str, ...]
        reasons: tuple[str, ...]

        def apply(self, c: ReviewConfig) -> None:
            c.rules = [r for r in c.rules if r.rule_id != self.rule_id]
            c.rules.append(Rule(self.rule_id, self.queue, self.labels, self.reasons))

    class RuleRemoved(ConsentryAggregate.Event):
        rule_id: str

        def apply(self, c: ReviewConfig) -> None:
            c.rules = [r for r in c.rules if r.rule_id != self.rule_id]

    class WellnessDefaultSet(ConsentryAggregate.Event):
        label: str
        blur: bool
        grayscale: bool

        def apply(self, c: ReviewConfig) -> None:
            c.wellness[self.label] = Filter(self.blur, self.grayscale)

    class StrikePolicySet(ConsentryAggregate.Event):
        min_severity: int
        limit: int
        lifetime_days: int
        suspension_days: int

        def apply(self, c: ReviewConfig) -> None:
            c.strikes = StrikePolicy(self.min_severity, self.limit, self.lifetime_days,
                                     self.suspension_days)

    # -- commands --------------------------------------------------------------------
    def define_policy(self, actor: Actor, policy: Policy) -> None:
        if not policy.code.strip() or not policy.title.strip():
            raise ValidationError("a policy needs a code and a title")
        if not 0 <= policy.severity <= 5:
            raise ValidationError("severity is 0 to 5")
        if not policy.actions or set(policy.actions) - set(ACTIONS):
            raise ValidationError("actions are approve, remove and restrict",
                                  allowed=list(ACTIONS))
        self._emit(self.PolicyDefined, actor, code=policy.code, title=policy.title,
                   description=policy.description, severity=policy.severity,
                   actions=tuple(dict.fromkeys(policy.actions)))

    def retire_policy(self, actor: Actor, code: str) -> None:
        self.policy(code)
        self._emit(self.PolicyRetired, actor, code=code)

    def define_queue(self, actor: Actor, queue: Queue) -> None:
        if not queue.name.strip() or not queue.name.replace("-", "").isalnum():
            raise ValidationError("a queue name is letters, digits and dashes")
        if not queue.decisions or set(queue.decisions) - set(GRADES):
            raise ValidationError("a queue names the grades that work it", allowed=list(GRADES))
        if any(not d or set(d) - set(ACTIONS) for d in queue.decisions.values()):
            raise ValidationError("each grade may take some of approve, remove and restrict")
        if queue.senior is not None and queue.senior not in self.queues \
                and queue.senior != queue.name:
            raise NotFoundError("no such senior queue", queue=queue.senior)
        self._emit(self.QueueDefined, actor, name=queue.name, title=queue.title,
                   decisions={g: list(dict.fromkeys(d)) for g, d in queue.decisions.items()},
                   senior=queue.senior)

    def delete_queue(self, actor: Actor, name: str) -> None:
        self.queue(name)
        routed = [r.rule_id for r in self.rules if r.queue == name]
        seniors = [q.name for q in self.queues.values() if q.senior == name and q.name != name]
        if routed or seniors or name in (self.default_queue, self.appeals_queue):
            raise QueueInUseError("a rule, another queue or the defaults send cases here",
                                  rules=routed, queues=seniors)
        self._emit(self.QueueDeleted, actor, name=name)

    def add_rule(self, actor: Actor, rule: Rule) -> None:
        self.queue(rule.queue)
        if not rule.labels and not rule.reasons:
            raise ValidationError("a rule needs labels or reason words to match")
        self._emit(self.RuleAdded, actor, rule_id=rule.rule_id, queue=rule.queue,
                   labels=tuple(rule.labels), reasons=tuple(rule.reasons))

    def remove_rule(self, actor: Actor, rule_id: str) -> None:
        if not any(r.rule_id == rule_id for r in self.rules):
            raise NotFoundError("no such rule", rule_id=rule_id)
        self._emit(self.RuleRemoved, actor, rule_id=rule_id)

    def set_wellness_default(self, actor: Actor, label: str, shown: Filter) -> None:
        self._emit(self.WellnessDefaultSet, actor, label=label, blur=shown.blur,
                   grayscale=shown.grayscale)

    def set_strike_policy(self, actor: Actor, policy: StrikePolicy) -> None:
        if not (0 <= policy.min_severity <= 5 and policy.limit >= 1
                and policy.lifetime_days >= 1 and policy.suspension_days >= 1):
            raise ValidationError("severity 0-5; limit, lifetime and suspension at least 1")
        self._emit(self.StrikePolicySet, actor, min_severity=policy.min_severity,
                   limit=policy.limit, lifetime_days=policy.lifetime_days,
                   suspension_days=policy.suspension_days)

    # -- queries ---------------------------------------------------------------------
    def policy(self, code: str) -> Policy:
        found = self.policies.get(code)
        if found is None:
            raise NotFoundError("no such policy code", code=code)
        return found

    def queue(self, name: str) -> Queue:
        found = self.queues.get(name)
        if found is None:
            raise NotFoundError("no such queue", queue=name)
        return found

    def route(self, labels: tuple[str, ...], reason: str) -> str:
        for rule in self.rules:
            if rule.matches(labels, reason) and rule.queue in self.queues:
                return rule.queue
        return self.default_queue

    def check_worker(self, queue_name: str, grade: str, lead: bool) -> Queue:
        queue = self.queues.get(queue_name) or self.queue(self.default_queue)
        if not lead and grade not in queue.grades:
            raise QueueForbidsError(f"the {queue.title} queue is worked by "
                                    f"{', '.join(queue.grades)} staff", queue=queue.name)
        return queue

    def check_decision(self, queue_name: str, grade: str, lead: bool, decision: str,
                       code: str) -> Policy:
        """The policy a decision names, once the queue and the code allow it."""
        queue = self.check_worker(queue_name, grade, lead)
        if not lead and decision not in queue.decisions[grade]:
            raise QueueForbidsError(f"{grade} staff do not {decision} in the {queue.title} "
                                    "queue", queue=queue.name,
                                    allowed=list(queue.decisions[grade]))
        policy = self.policies.get(code)
        if policy is None or policy.retired:
            raise PolicyNotAllowedError(f"{code!r} is not a live policy code",
                                        policy_code=code)
        if decision not in policy.actions:
            raise PolicyNotAllowedError(f"{code} allows {', '.join(policy.actions)}, not "
                                        f"{decision}", policy_code=code,
                                        allowed=list(policy.actions))
        return policy

    def shown(self, label: str) -> Filter:
        return self.wellness.get(label, Filter())

    def senior_of(self, queue_name: str) -> str:
        queue = self.queues.get(queue_name)
        return queue.senior if queue is not None and queue.senior else queue_name


