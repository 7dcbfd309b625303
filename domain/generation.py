"""One video generation, from request through the gates to the feed (or not).

States: requested → denied | pending_review | queued; queued → rendered → scanned →
watermarked → published; held (for review) can come before publication; rejected, denied
and deleted are final, except that an appeal can overturn a reviewer's removal; taken_down
can be restored by a review decision."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.errors import InvalidTransitionError

IN_FLIGHT = ("queued", "rendered", "scanned", "watermarked")
FINAL = ("denied", "rejected", "deleted")
REVIEW_CODE_PREFIX = "REVIEW:"  # rule codes of a reviewer's removal: REVIEW:<policy code>


class Generation(ConsentryAggregate):
    """Invariants: nothing is published before it was scanned and watermarked, nor after it
    was rejected, taken down or deleted; every step follows the one before it."""

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
        self.state = "requested"
        self.outcome = ""
        self.trace: tuple[dict[str, Any], ...] = ()
        self.rule_codes: tuple[str, ...] = ()
        self.work_ids: tuple[UUID, ...] = ()
        self.consent_versions: dict[str, int] = {}
        self.artifact_digest = ""
        self.attempt = 0
        self.findings: dict[str, Any] = {}
        self.watermark_payload = ""
        self.watermark_serial = ""
        self.published_digest = ""
        self.case_ids: list[UUID] = []
        self.scanned = False
        self.watermarked = False
        self.approved_by_review = False
        self.takedown_cause: dict[str, str] = {}
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

    class Decided(ConsentryAggregate.Event):
        outcome: str
        rule_codes: tuple[str, ...]
        trace: tuple[dict[str, Any], ...]
        work_ids: tuple[UUID, ...]
        consent_versions: dict[str, int]

        def apply(self, g: Generation) -> None:
            g.outcome = self.outcome
            g.rule_codes = self.rule_codes
            g.trace = self.trace
            g.work_ids = self.work_ids
            g.consent_versions = dict(self.consent_versions)
            g.state = {"allow": "queued", "deny": "denied", "review": "pending_review"}[
                self.outcome]

    class Rendered(ConsentryAggregate.Event):
        artifact_digest: str
        frames: int
        seconds: float
        worker: str
        attempt: int

        def apply(self, g: Generation) -> None:
            g.state = "rendered"
            g.artifact_digest = self.artifact_digest
            g.attempt = self.attempt

    class Scanned(ConsentryAggregate.Event):
        findings: dict[str, Any]

        def apply(self, g: Generation) -> None:
            g.state = "scanned"
            g.scanned = True
            g.findings = dict(self.findings)

    class SerialAssigned(ConsentryAggregate.Event):
        """The watermark payload reserved for this generation (a SerialClaim holds it)."""

        payload: str  # hex

        def apply(self, g: Generation) -> None:
            g.watermark_serial = self.payload

    class Watermarked(ConsentryAggregate.Event):
        payload: str
        manifest_digest: str
        published_digest: str

        def apply(self, g: Generation) -> None:
            g.state = "watermarked"
            g.watermarked = True
            g.watermark_payload = self.payload
            g.published_digest = self.published_digest

    class Published(ConsentryAggregate.Event):
        def apply(self, g: Generation) -> None:
            g.state = "published"

    class HeldForReview(ConsentryAggregate.Event):
        case_id: UUID
        reasons: tuple[str, ...]

        def apply(self, g: Generation) -> None:
            g.state = "held"
            g.case_ids.append(self.case_id)

    class Approved(ConsentryAggregate.Event):
        """A reviewer cleared a held generation, or an appeal overturned a removal; it
        continues where it stopped."""

        case_id: UUID

        def apply(self, g: Generation) -> None:
            # A person's approval covers what they were shown: the scan's findings when it
            # came after the scan; before it (a pre-gate review, a worker error), nothing
            # the scanners will find later.
            g.approved_by_review = g.scanned
            g.state = g.resume_state()

    class Restricted(ConsentryAggregate.Event):
        """A reviewer allowed it, but off the feed: only its author and cameos see it."""

        case_id: UUID
        policy_code: str

        def apply(self, g: Generation) -> None:
            g.restricted = True
            if g.state == "held":
                g.approved_by_review = g.scanned
                g.state = g.resume_state()

    class CaseLinked(ConsentryAggregate.Event):
        case_id: UUID

        def apply(self, g: Generation) -> None:
            g.case_ids.append(self.case_id)

    class Rejected(ConsentryAggregate.Event):
        rule_codes: tuple[str, ...]

        def apply(self, g: Generation) -> None:
            g.state = "rejected"
            g.rule_codes = tuple(dict.fromkeys((*g.rule_codes, *self.rule_codes)))

    class TakenDown(ConsentryAggregate.Event):
        cause: dict[str, str]

        def apply(self, g: Generation) -> None:
            g.state = "taken_down"
            g.takedown_cause = dict(self.cause)

    class Restored(ConsentryAggregate.Event):
        case_id: UUID

        def apply(self, g: Generation) -> None:
            g.state = "published"
            g.takedown_cause = {}

    class Deleted(ConsentryAggregate.Event):
        reason: str

        def apply(self, g: Generation) -> None:
            g.state = "deleted"

    def _in(self, *states: str, action: str) -> None:
        if self.state not in states:
            raise InvalidTransitionError(
                f"cannot {action} a generation that is {self.state}", state=self.state,
                generation_id=str(self.id))

    def decide(self, actor: Actor, outcome: str, rule_codes: tuple[str, ...],
               trace: tuple[dict[str, Any], ...], work_ids: tuple[UUID, ...],
               consent_versions: dict[str, int]) -> None:
        self._in("requested", action="decide")
        self._emit(self.Decided, actor, outcome=outcome, rule_codes=tuple(rule_codes),
                   trace=tuple(trace), work_ids=tuple(work_ids),
                   consent_versions=dict(consent_versions))

    def record_render(self, actor: Actor, artifact_digest: str, frames: int, seconds: float,
                      worker: str, attempt: int) -> None:
        self._in("queued", action="render")
        self._emit(self.Rendered, actor, artifact_digest=artifact_digest, frames=frames,
                   seconds=seconds, worker=worker, attempt=attempt)

    def record_scan(self, actor: Actor, findings: dict[str, Any]) -> None:
        self._in("rendered", action="scan")
        self._emit(self.Scanned, actor, findings=dict(findings))

    def assign_serial(self, actor: Actor, payload: str) -> None:
        """Once, before the watermark: the payload its video will carry."""
        self._in("queued", "rendered", "scanned", "held", "pending_review",
                 action="assign a watermark serial to")
        self._require(not self.watermark_serial and not self.watermarked,
                      "a watermark serial was already assigned")
        self._emit(self.SerialAssigned, actor, payload=payload)

    def record_watermark(self, actor: Actor, payload: str, manifest_digest: str,
                         published_digest: str) -> None:
        self._in("scanned", action="watermark")
        # The provenance lookup maps serials to generations: a video marked with anything
        # else could not be traced back.
        self._require(not self.watermark_serial or payload == self.watermark_serial,
                      "the watermark payload must be the generation's serial")
        self._emit(self.Watermarked, actor, payload=payload, manifest_digest=manifest_digest,
                   published_digest=published_digest)

    def publish(self, actor: Actor) -> None:
        self._in("watermarked", action="publish")
        # Checked again on the flags, not only the state: publication is the invariant
        # everything else protects.
        self._require(self.scanned and self.watermarked, "not scanned and watermarked")
        self._emit(self.Published, actor)

    def hold_for_review(self, actor: Actor, case_id: UUID, reasons: tuple[str, ...]) -> None:
        self._in("pending_review", *IN_FLIGHT, action="hold")
        self._emit(self.HeldForReview, actor, case_id=case_id, reasons=tuple(reasons))

    def approve(self, actor: Actor, case_id: UUID) -> None:
        if self.state == "rejected":
            # An appeal may overturn a reviewer's removal, never a scanner's rejection.
            self._require(self.removed_by_review, "only a reviewer's removal can be overturned")
        else:
            self._in("held", action="approve")
        self._emit(self.Approved, actor, case_id=case_id)

    @property
    def removed_by_review(self) -> bool:
        return self.state == "rejected" and any(
            code.startswith(REVIEW_CODE_PREFIX) for code in self.rule_codes)

    def restrict(self, actor: Actor, case_id: UUID, policy_code: str) -> None:
        self._in("held", "published", *IN_FLIGHT, action="restrict")
        self._emit(self.Restricted, actor, case_id=case_id, policy_code=policy_code)

    def link_case(self, actor: Actor, case_id: UUID) -> None:
        if case_id not in self.case_ids:
            self._emit(self.CaseLinked, actor, case_id=case_id)

    def resume_state(self) -> str:
        if self.watermarked:
            return "watermarked"
        if self.scanned:
            return "scanned"
        return "rendered" if self.artifact_digest else "queued"

    def reject(self, actor: Actor, rule_codes: tuple[str, ...]) -> None:
        self._in("pending_review", "held", *IN_FLIGHT, action="reject")
        self._emit(self.Rejected, actor, rule_codes=tuple(rule_codes))

    def take_down(self, actor: Actor, cause: dict[str, str]) -> None:
        self._in("published", "held", "pending_review", *IN_FLIGHT, action="take down")
        self._emit(self.TakenDown, actor, cause=dict(cause))

    def restore(self, actor: Actor, case_id: UUID) -> None:
        self._in("taken_down", action="restore")
        self._require(self.scanned and self.watermarked,
                      "only a scanned and watermarked video can be restored")
        self._emit(self.Restored, actor, case_id=case_id)

    def delete(self, actor: Actor, reason: str) -> None:
        self._require(self.state != "deleted", "generation already deleted")
        self._emit(self.Deleted, actor, reason=reason)

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def features(self, member_id: UUID) -> bool:
        return member_id in self.cameo_owner_ids
