"""One video generation, from request through the gates to the feed (or not). Its states and
their transitions live here once (`State`, `TRANSITIONS`, `target_of`): the aggregate checks
its commands against them, and every read model, the job dispatcher and the worker derive
from them. docs/lifecycle.md draws the table."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import InvalidTransitionError

REVIEW_CODE_PREFIX = "REVIEW:"  # rule codes of a reviewer's removal: REVIEW:<policy code>


class State(StrEnum):
    REQUESTED = "requested"
    DENIED = "denied"  # the pre-gate said no: nothing was made
    PENDING_REVIEW = "pending_review"  # the pre-gate asked for a person
    QUEUED = "queued"
    RENDERED = "rendered"
    SCANNED = "scanned"
    WATERMARKED = "watermarked"
    PUBLISHED = "published"
    HELD = "held"  # out of the feed until a reviewer decides its case
    REJECTED = "rejected"
    TAKEN_DOWN = "taken_down"
    DELETED = "deleted"


# The worker's step that moves each in-flight state on (the job resumes there).
STEPS: dict[State, str] = {State.QUEUED: "render", State.RENDERED: "scan",
                           State.SCANNED: "finish", State.WATERMARKED: "publish"}
IN_FLIGHT = frozenset(STEPS)
# Made, or being made, and not removed: what a revoked consent takes down.
LIVE = IN_FLIGHT | {State.PUBLISHED, State.HELD, State.PENDING_REVIEW}
FINAL = frozenset({State.DENIED, State.REJECTED, State.DELETED})
DECIDED: dict[str, State] = {"allow": State.QUEUED, "deny": State.DENIED,
                             "review": State.PENDING_REVIEW}
# What the public provenance lookup says of each state.
PUBLIC_STATES: dict[State, str] = {
    State.PUBLISHED: "published", State.TAKEN_DOWN: "taken_down", State.HELD: "held",
    State.PENDING_REVIEW: "held", State.DELETED: "deleted", State.REJECTED: "rejected",
    State.DENIED: "rejected"}


@dataclass(frozen=True)
class Transition:
    """The states an event may follow, and the state it leads to (None: the event names it,
    as `Decided`, `Approved` and `Restricted` do, or the state stays as it was)."""

    sources: frozenset[State]
    target: State | None


_ANY = frozenset(State)
TRANSITIONS: dict[str, Transition] = {
    "Requested": Transition(frozenset(), State.REQUESTED),
    "Decided": Transition(frozenset({State.REQUESTED}), None),
    "Rendered": Transition(frozenset({State.QUEUED}), State.RENDERED),
    "Scanned": Transition(frozenset({State.RENDERED}), State.SCANNED),
    "SerialAssigned": Transition(
        frozenset({State.QUEUED, State.RENDERED, State.SCANNED, State.HELD,
                   State.PENDING_REVIEW}), None),
    "Watermarked": Transition(frozenset({State.SCANNED}), State.WATERMARKED),
    "Published": Transition(frozenset({State.WATERMARKED}), State.PUBLISHED),
    "HeldForReview": Transition(LIVE - {State.HELD}, State.HELD),
    # From `rejected` only when a reviewer removed it (an appeal overturns that).
    "Approved": Transition(frozenset({State.HELD, State.REJECTED}), None),
    "Restricted": Transition(IN_FLIGHT | {State.HELD, State.PUBLISHED}, None),
    "CaseLinked": Transition(_ANY, None),
    "Rejected": Transition(LIVE - {State.PUBLISHED}, State.REJECTED),
    "TakenDown": Transition(LIVE, State.TAKEN_DOWN),
    "Restored": Transition(frozenset({State.TAKEN_DOWN}), State.PUBLISHED),
    "Deleted": Transition(_ANY - {State.DELETED}, State.DELETED),
}


def target_of(event: Any) -> State | None:
    """The state a Generation event leads to; None when it leaves the state as it was."""
    name = type(event).__name__
    if name == "Decided":
        return DECIDED[event.outcome]
    if name in ("Approved", "Restricted"):
        return State(event.resumes_at) if event.resumes_at else None
    transition = TRANSITIONS.get(name)
    return transition.target if transition is not None else None


def state_after(state: State, event: Any) -> State:
    """The state after one event: how every read model follows the lifecycle."""
    return target_of(event) or state


def in_feed(state: State, restricted: bool) -> bool:
    return state == State.PUBLISHED and not restricted


class Generation(ConsentryAggregate):
    """Invariants: nothing is published before it was scanned and watermarked, nor after it
    was rejected, taken down or deleted; every step follows the one before it. The people
    and works it features (named, inherited through remixes at any depth, found in its
    frames) are recorded on it: consent is checked, and revoked, against that one set."""

    class Requested(ConsentryAggregate.Created):
        requester_id: UUID
        prompt: str
        cameo_owner_ids: tuple[UUID, ...]
        seconds: int
        params: dict[str, str]
        remix_of: UUID | None

    def __init__(self, requester_id: UUID, prompt: str, cameo_owner_ids: tuple[UUID, ...],
                 seconds: int, params: dict[str, str], remix_of: UUID | None,
                 **kwargs: Any) -> None:
        self.requester_id = requester_id
        self.prompt = prompt
        self.cameo_owner_ids = cameo_owner_ids
        self.seconds = seconds
        self.params = params
        self.remix_of = remix_of
        self.state = State.REQUESTED
        self.outcome = ""
        self.trace: tuple[dict[str, Any], ...] = ()
        self.rule_codes: tuple[str, ...] = ()
        self.work_ids: tuple[UUID, ...] = ()  # named by its own prompt
        self.featured_member_ids: tuple[UUID, ...] = ()
        self.featured_work_ids: tuple[UUID, ...] = ()  # named, inherited and seen
        self.visual_work_ids: tuple[UUID, ...] = ()  # found in its frames
        self.consent_versions: dict[str, int] = {}
        self.artifact_digest = ""
        self.attempt = 0
        self.findings: dict[str, Any] = {}
        self.watermark_serial = ""
        self.watermark_payload = ""
        self.published_digest = ""
        self.case_ids: list[UUID] = []
        self.scanned = False
        self.watermarked = False
        self.approved_by_review = False
        self.hold_keys: tuple[str, ...] = ()  # the reviews the current hold asks for
        self.cleared: set[str] = set()  # reviews a person has cleared
        self.takedown_cause: dict[str, str] = {}
        self.hold_cause: dict[str, str] = {}  # what sent it back to a person, if not a scan
        self.restricted = False

    @classmethod
    def request(cls, actor: Actor, requester_id: UUID, prompt: str,
                cameo_owner_ids: tuple[UUID, ...], seconds: int,
                params: dict[str, str] | None = None,
                remix_of: UUID | None = None) -> Generation:
        return cls._create(cls.Requested, id=uuid4(), actor_id=actor.id,
                           actor_role=str(actor.role), requester_id=requester_id,
                           prompt=prompt, cameo_owner_ids=tuple(cameo_owner_ids),
                           seconds=seconds, params=dict(params or {}), remix_of=remix_of)

    class Event(ConsentryAggregate.Event):
        def apply(self, g: Generation) -> None:
            g.state = state_after(g.state, self)
            self.update(g)

        def update(self, g: Generation) -> None:
            """What the event records besides the state."""

    class Decided(Event):
        """`featured_*`: everyone and every work the video shows by request, its own and
        those inherited from its remix source (whose set already holds its sources')."""

        outcome: str
        rule_codes: tuple[str, ...]
        trace: tuple[dict[str, Any], ...]
        work_ids: tuple[UUID, ...]
        consent_versions: dict[str, int]
        featured_member_ids: tuple[UUID, ...]
        featured_work_ids: tuple[UUID, ...]
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Before lineage was recorded: what the request named is all there is.
            state["featured_member_ids"] = []
            state["featured_work_ids"] = list(state["work_ids"])

        def update(self, g: Generation) -> None:
            g.outcome = self.outcome
            g.rule_codes = self.rule_codes
            g.trace = self.trace
            g.work_ids = self.work_ids
            g.consent_versions = dict(self.consent_versions)
            g.featured_member_ids = tuple(dict.fromkeys(
                (*g.cameo_owner_ids, *self.featured_member_ids)))
            g.featured_work_ids = self.featured_work_ids

    class Rendered(Event):
        artifact_digest: str
        frames: int
        seconds: float
        worker: str
        attempt: int

        def update(self, g: Generation) -> None:
            g.artifact_digest = self.artifact_digest
            g.attempt = self.attempt

    class Scanned(Event):
        """`work_ids`: protected works found in the frames; they join the featured set.
        `sealed_tracks`: each face track's template (in the order of `findings.faces.tracks`)
        sealed under the video's key, domain.faces.generation_key; empty when none was kept
        (a scan recorded before they were, or no sealer wired in)."""

        findings: dict[str, Any]
        work_ids: tuple[UUID, ...]
        sealed_tracks: tuple[bytes, ...]
        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["work_ids"] = []

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["sealed_tracks"] = []

        def update(self, g: Generation) -> None:
            g.scanned = True
            g.findings = dict(self.findings)
            g.visual_work_ids = self.work_ids
            g.featured_work_ids = tuple(dict.fromkeys((*g.featured_work_ids, *self.work_ids)))

    class SerialAssigned(Event):
        """The watermark payload reserved for this generation (a SerialClaim holds it)."""

        payload: str  # hex

        def update(self, g: Generation) -> None:
            g.watermark_serial = self.payload

    class Watermarked(Event):
        payload: str
        manifest_digest: str
        published_digest: str

        def update(self, g: Generation) -> None:
            g.watermarked = True
            g.watermark_payload = self.payload
            g.published_digest = self.published_digest

    class Published(Event):
        pass

    class HeldForReview(Event):
        """`review_keys` name the reviews the case asks for (see domain.gate.review_key);
        `cause` says what sent it back, when it is not the pipeline (a revocation)."""

        case_id: UUID
        reasons: tuple[str, ...]
        review_keys: tuple[str, ...]
        cause: dict[str, str]
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["review_keys"], state["cause"] = [], {}

        def update(self, g: Generation) -> None:
            g.case_ids.append(self.case_id)
            g.hold_keys = self.review_keys
            g.hold_cause = dict(self.cause)

    class Approved(Event):
        """A reviewer cleared a held generation, or an appeal overturned a removal; it
        continues at `resumes_at`."""

        case_id: UUID
        resumes_at: str
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["resumes_at"] = ""  # v1 did not say: the aggregate works it out below

        def update(self, g: Generation) -> None:
            if not self.resumes_at:
                g.state = g.resume_state()
            # A person's approval covers what they were shown: the scan's findings when it
            # came after the scan; before it (a pre-gate review, a worker error), nothing
            # the scanners will find later.
            g.approved_by_review = g.scanned
            g.cleared.update(g.hold_keys)
            g.hold_keys = ()
            g.hold_cause = {}

    class Restricted(Event):
        """A reviewer allowed it, but off the feed: only its author and cameos see it.
        `resumes_at` is set when it was held (it goes on), empty otherwise."""

        case_id: UUID
        policy_code: str
        resumes_at: str
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["resumes_at"] = ""  # v1 did not say: a held one is worked out below

        def update(self, g: Generation) -> None:
            g.restricted = True
            released = bool(self.resumes_at) or g.state == State.HELD
            if g.state == State.HELD:  # only a v1 event leaves a held one held
                g.state = g.resume_state()
            if released:
                g.approved_by_review = g.scanned
                g.cleared.update(g.hold_keys)
                g.hold_keys = ()
                g.hold_cause = {}

    class CaseLinked(Event):
        case_id: UUID

        def update(self, g: Generation) -> None:
            g.case_ids.append(self.case_id)

    class Rejected(Event):
        rule_codes: tuple[str, ...]

        def update(self, g: Generation) -> None:
            g.rule_codes = tuple(dict.fromkeys((*g.rule_codes, *self.rule_codes)))

    class TakenDown(Event):
        cause: dict[str, str]

        def update(self, g: Generation) -> None:
            g.takedown_cause = dict(self.cause)

    class Restored(Event):
        case_id: UUID

        def update(self, g: Generation) -> None:
            g.takedown_cause = {}

    class Deleted(Event):
        reason: str

    # -- commands --------------------------------------------------------------------
    def allows(self, event_class: type[Event]) -> bool:
        """Whether the lifecycle lets this event follow the current state."""
        return self.state in TRANSITIONS[event_class.__name__].sources

    def _check(self, event_class: type[Event], action: str) -> None:
        if not self.allows(event_class):
            raise InvalidTransitionError(
                f"cannot {action} a generation that is {self.state}", state=str(self.state),
                generation_id=str(self.id))

    def decide(self, actor: Actor, outcome: str, rule_codes: tuple[str, ...],
               trace: tuple[dict[str, Any], ...], work_ids: tuple[UUID, ...],
               consent_versions: dict[str, int],
               featured_member_ids: tuple[UUID, ...] | None = None,
               featured_work_ids: tuple[UUID, ...] | None = None) -> None:
        self._check(self.Decided, "decide")
        self._require(outcome in DECIDED, f"unknown outcome {outcome!r}")
        members = self.cameo_owner_ids if featured_member_ids is None else featured_member_ids
        works = work_ids if featured_work_ids is None else featured_work_ids
        self._emit(self.Decided, actor, outcome=outcome, rule_codes=tuple(rule_codes),
                   trace=tuple(trace), work_ids=tuple(work_ids),
                   consent_versions=dict(consent_versions),
                   featured_member_ids=tuple(dict.fromkeys((*self.cameo_owner_ids, *members))),
                   featured_work_ids=tuple(dict.fromkeys((*work_ids, *works))))

    def record_render(self, actor: Actor, artifact_digest: str, frames: int, seconds: float,
                      worker: str, attempt: int) -> None:
        self._check(self.Rendered, "render")
        self._emit(self.Rendered, actor, artifact_digest=artifact_digest, frames=frames,
                   seconds=seconds, worker=worker, attempt=attempt)

    def record_scan(self, actor: Actor, findings: dict[str, Any],
                    work_ids: tuple[UUID, ...] = (),
                    sealed_tracks: tuple[bytes, ...] = ()) -> None:
        self._check(self.Scanned, "scan")
        self._emit(self.Scanned, actor, findings=dict(findings),
                   work_ids=tuple(dict.fromkeys(work_ids)),
                   sealed_tracks=tuple(sealed_tracks))

    def assign_serial(self, actor: Actor, payload: str) -> None:
        """Once, before the watermark: the payload its video will carry."""
        self._check(self.SerialAssigned, "assign a watermark serial to")
        self._require(not self.watermark_serial and not self.watermarked,
                      "a watermark serial was already assigned")
        self._emit(self.SerialAssigned, actor, payload=payload)

    def record_watermark(self, actor: Actor, payload: str, manifest_digest: str,
                         published_digest: str) -> None:
        self._check(self.Watermarked, "watermark")
        # The provenance lookup maps serials to generations: a video marked with anything
        # else could not be traced back.
        self._require(not self.watermark_serial or payload == self.watermark_serial,
                      "the watermark payload must be the generation's serial")
        self._emit(self.Watermarked, actor, payload=payload, manifest_digest=manifest_digest,
                   published_digest=published_digest)

    def publish(self, actor: Actor) -> None:
        self._check(self.Published, "publish")
        # Checked again on the flags, not only the state: publication is the invariant
        # everything else protects.
        self._require(self.scanned and self.watermarked, "not scanned and watermarked")
        self._emit(self.Published, actor)

    def hold_for_review(self, actor: Actor, case_id: UUID, reasons: tuple[str, ...],
                        review_keys: tuple[str, ...] = (),
                        cause: dict[str, str] | None = None) -> None:
        self._check(self.HeldForReview, "hold")
        self._emit(self.HeldForReview, actor, case_id=case_id, reasons=tuple(reasons),
                   review_keys=tuple(review_keys), cause=dict(cause or {}))

    def approve(self, actor: Actor, case_id: UUID) -> None:
        self._check(self.Approved, "approve")
        if self.state == State.REJECTED:
            # An appeal may overturn a reviewer's removal, never a scanner's rejection.
            self._require(self.removed_by_review, "only a reviewer's removal can be overturned")
        self._emit(self.Approved, actor, case_id=case_id, resumes_at=str(self.resume_state()))

    @property
    def removed_by_review(self) -> bool:
        return self.state == State.REJECTED and any(
            code.startswith(REVIEW_CODE_PREFIX) for code in self.rule_codes)

    def restrict(self, actor: Actor, case_id: UUID, policy_code: str) -> None:
        self._check(self.Restricted, "restrict")
        resumes = str(self.resume_state()) if self.state == State.HELD else ""
        self._emit(self.Restricted, actor, case_id=case_id, policy_code=policy_code,
                   resumes_at=resumes)

    def link_case(self, actor: Actor, case_id: UUID) -> None:
        if case_id not in self.case_ids:
            self._emit(self.CaseLinked, actor, case_id=case_id)

    def resume_state(self) -> State:
        """Where the worker goes on after a person released it: the step after the last
        one it completed."""
        if self.watermarked:
            return State.WATERMARKED
        if self.scanned:
            return State.SCANNED
        return State.RENDERED if self.artifact_digest else State.QUEUED

    def reject(self, actor: Actor, rule_codes: tuple[str, ...]) -> None:
        self._check(self.Rejected, "reject")
        self._emit(self.Rejected, actor, rule_codes=tuple(rule_codes))

    def take_down(self, actor: Actor, cause: dict[str, str]) -> None:
        self._check(self.TakenDown, "take down")
        self._emit(self.TakenDown, actor, cause=dict(cause))

    def restore(self, actor: Actor, case_id: UUID) -> None:
        self._check(self.Restored, "restore")
        self._require(self.scanned and self.watermarked,
                      "only a scanned and watermarked video can be restored")
        self._emit(self.Restored, actor, case_id=case_id)

    def delete(self, actor: Actor, reason: str) -> None:
        self._require(self.state != State.DELETED, "generation already deleted")
        self._emit(self.Deleted, actor, reason=reason)

    # -- queries -----------------------------------------------------------------------
    @property
    def final(self) -> bool:
        return self.state in FINAL

    @property
    def live(self) -> bool:
        return self.state in LIVE

    @property
    def inherited_work_ids(self) -> tuple[UUID, ...]:
        """Works it shows because its remix source did, not named by its own prompt nor
        found only in its frames."""
        own = {*self.work_ids, *self.visual_work_ids}
        return tuple(w for w in self.featured_work_ids if w not in own)

    @property
    def inherited_member_ids(self) -> tuple[UUID, ...]:
        return tuple(m for m in self.featured_member_ids if m not in self.cameo_owner_ids)

    @property
    def files(self) -> tuple[str, ...]:
        """The blobs it made: the render, the published file, the evidence frames."""
        return tuple(d for d in (self.artifact_digest, self.published_digest,
                                 *self.findings.get("evidence_frames", ())) if d)

    def features(self, member_id: UUID) -> bool:
        return member_id in self.cameo_owner_ids or member_id in self.featured_member_ids
