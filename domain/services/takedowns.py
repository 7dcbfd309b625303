"""Takedown requests from anyone (docs/takedowns.md): filing opens an urgent case in the
takedowns queue with the legal deadline; a reviewer validates or rejects it; validation takes
the video and its remixes out of the feed in the same transaction and records how long that
took from filing. Cases near their deadline escalate (`escalate_due_takedowns`, on the
application's clock, run by the API's periodic sweep and by an admin endpoint).

`TakedownLedger` follows the log (docs/followers.md): which videos remix which, and which
requests are open with what deadline. Every command that uses it catches it up first."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.actors import SYSTEM, Actor, Role
from domain.errors import ConflictError, InvalidTransitionError, NotFoundError
from domain.faces import MatchDecision
from domain.generation import Generation, State
from domain.hash_bank import LOCAL_SOURCE, BankEntry, entry_id
from domain.review_case import WORK_STATES, ReviewCase
from domain.services.access import require_role
from domain.services.log_follower import LogFollower, Positioned
from domain.services.review import ReviewCommands
from domain.takedown import (
    CATEGORY_LABELS,
    DEADLINE,
    ProofSpentError,
    TakedownRequest,
    reference_of,
    request_id,
)

ESCALATE_BEFORE = timedelta(hours=12)  # cases this close to their deadline go to seniors


class TakedownLedger:
    """Remix children of every generation, the open requests' deadlines, and the seconds
    from filing to removal of every actioned request."""

    topics = (get_topic(Generation.Requested), get_topic(TakedownRequest.Filed),
              get_topic(TakedownRequest.Escalated), get_topic(TakedownRequest.Actioned),
              get_topic(TakedownRequest.Closed))

    def __init__(self) -> None:
        self.children: dict[UUID, list[UUID]] = {}
        self.open: dict[UUID, datetime] = {}  # request id -> deadline, not yet escalated
        # request id -> (category, deadline) until it is closed, escalated or not
        self.pending: dict[UUID, tuple[str, datetime]] = {}
        self.removal_seconds: list[float] = []
        self.filed = 0

    def apply(self, events: Iterable[Positioned]) -> None:
        for _, event in events:
            if isinstance(event, Generation.Requested):
                if event.remix_of is not None:
                    self.children.setdefault(event.remix_of, []).append(event.originator_id)
            elif isinstance(event, TakedownRequest.Filed):
                self.open[event.originator_id] = event.deadline
                self.pending[event.originator_id] = (event.category, event.deadline)
                self.filed += 1
            elif isinstance(event, TakedownRequest.Actioned):
                self.removal_seconds.append(event.seconds_since_filing)
            else:  # escalated or closed: no longer waiting for the deadline sweep
                self.open.pop(event.originator_id, None)
                if isinstance(event, TakedownRequest.Closed):
                    self.pending.pop(event.originator_id, None)

    def lineage(self, root: UUID) -> list[UUID]:
        """The generation and every remix of it, at any depth."""
        found, todo = [root], [root]
        while todo:
            for child in self.children.get(todo.pop(), ()):
                if child not in found:
                    found.append(child)
                    todo.append(child)
        return found


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class TakedownCommands(ReviewCommands):
    takedown_deadline: timedelta = DEADLINE
    takedown_escalate_before: timedelta = ESCALATE_BEFORE

    def _ledger(self) -> TakedownLedger:
        follower: LogFollower | None = getattr(self, "_takedown_follower", None)
        if follower is None:
            follower = self._takedown_follower = LogFollower(self, TakedownLedger())
        follower.catch_up()
        ledger: TakedownLedger = follower.subscriber  # type: ignore[assignment]
        return ledger

    def file_takedown(self, actor: Actor, proof_nonce: str, generation_id: UUID,
                      located_by: str, category: str, relation: str, statement: str,
                      signature: str, contact: dict[str, str], key: str | None = None
                      ) -> dict[str, Any]:
        """Anyone (the API's public actor). `proof_nonce`: the nonce of the proof of work the
        API verified; it names the request, so one proof files one request."""
        reference = reference_of(proof_nonce)

        def body() -> tuple[dict[str, Any], list[Any]]:
            if self.find(TakedownRequest, request_id(reference)) is not None:
                raise ProofSpentError("this proof of work was already used; ask for a new "
                                      "challenge")
            generation = self.find(Generation, generation_id)
            if generation is None or generation.state in (State.DELETED, State.REQUESTED,
                                                          State.DENIED):
                raise NotFoundError("no such video", id=str(generation_id))
            now = self.clock()
            deadline = now + self.takedown_deadline
            labels = tuple(x for x in ("takedown", CATEGORY_LABELS.get(category, "")) if x)
            case = self.open_case(
                actor, "generation", generation.id, generation.requester_id,
                f"takedown request: {category}",
                {"takedown_request": reference, "category": category, "relation": relation,
                 "statement": statement[:4000], "deadline": deadline.isoformat()},
                "urgent", labels)
            token = secrets.token_urlsafe(24)
            request = TakedownRequest.file(actor, reference, token, generation.id, located_by,
                                           category, relation, statement, signature, contact,
                                           case.id, now, self.takedown_deadline)
            generation.link_case(actor, case.id)
            return {"reference": reference, "request_id": str(request.id), "secret": token,
                    "deadline": deadline.isoformat(), "case_id": str(case.id)}, \
                [request, case, generation]

        return dict(self.run("file_takedown", actor, key,
                             {"n": proof_nonce, "g": generation_id, "c": category,
                              "r": relation}, body))

    def takedown_status(self, reference: str, token: str) -> TakedownRequest:
        """The request, for whoever holds its token (anyone else: not found)."""
        request = self.find(TakedownRequest, request_id(reference))
        if request is None:
            raise NotFoundError("no such takedown request", reference=reference)
        try:
            request.check_token(token)
        except Exception:
            raise NotFoundError("no such takedown request", reference=reference) from None
        return request

    def decide_takedown(self, actor: Actor, reference: str, valid: bool, policy_code: str,
                        reasons: str = "", key: str | None = None) -> dict[str, Any]:
        """A reviewer who claimed the request's case validates it (a removal under
        `policy_code`: the video, its remixes, at once) or rejects it with the reasons the
        requester is sent."""
        require_role(actor, Role.REVIEWER, Role.ADMIN)

        def body() -> tuple[dict[str, Any], list[Any]]:
            request = self.get(TakedownRequest, request_id(reference), "takedown request")
            case = self.get(ReviewCase, request.case_id, "case")
            self.check_case_access(actor, case)
            now = self.clock()
            decision = "remove" if valid else "approve"
            config, policy = self._decision_policy(actor, case, decision, policy_code)
            case.decide(actor, decision, policy_code, now)
            if not valid:
                request.reject(actor, reasons)
                return {"state": str(request.state), "removed": []}, [request, case]
            request.validate(actor, policy_code)
            removed, others = self._take_down_lineage(actor, request, policy_code)
            request.record_removal(actor, tuple(g.id for g in removed), self.clock())
            changed = [request, case, *removed, *others,
                       *self._strike(actor, case, policy, config)]
            return {"state": str(request.state),
                    "removed": [str(g.id) for g in removed]}, changed

        return dict(self.run("decide_takedown", actor, key,
                             {"t": reference, "v": valid, "p": policy_code, "r": reasons},
                             body))

    def _take_down_lineage(self, actor: Actor, request: TakedownRequest,
                           policy_code: str) -> tuple[list[Generation], list[Any]]:
        """Takes down the video, every remix of it, and every published video whose frames
        match it (the vPDQ vote over the frame hashes its scan recorded); banks the frame
        hashes of each; opens a case for each near copy. Returns (the removed videos, the
        other aggregates changed)."""
        cause = {"kind": "takedown", "request": request.reference,
                 "case_id": str(request.case_id), "policy_code": policy_code}
        named = self.get(Generation, request.generation_id)
        wanted = self._ledger().lineage(named.id)
        near: list[UUID] = []
        hashes = _frame_hashes(named)
        if hashes and self.published_frames is not None:
            for match in self.published_frames.matches(hashes):
                if match.key in wanted:
                    continue
                if match.decision == MatchDecision.MATCH:
                    wanted.append(match.key)
                else:
                    near.append(match.key)
        removed: list[Generation] = []
        others: list[Any] = []
        for gid in wanted:
            generation = named if gid == named.id else self.find(Generation, gid)
            if generation is None or not generation.allows(Generation.TakenDown):
                continue
            generation.take_down(actor, cause)
            removed.append(generation)
            frames = _frame_hashes(generation)
            if frames and self.find(BankEntry, entry_id(LOCAL_SOURCE, str(gid))) is None:
                others.append(BankEntry.bank(actor, frames, LOCAL_SOURCE, str(gid),
                                             policy_code, request.reference, gid, True,
                                             self.clock()))
        for gid in near:
            generation = self.find(Generation, gid)
            if generation is None or generation.state != State.PUBLISHED:
                continue
            case = self.open_case(
                actor, "generation", gid, generation.requester_id,
                f"near copy of content removed for {request.reference}",
                {"copy_of": str(named.id), "takedown": request.reference}, "urgent",
                ("takedown",))
            generation.link_case(actor, case.id)
            others += [case, generation]
        return removed, others

    def file_counter_notice(self, actor: Actor, generation_id: UUID, statement: str,
                            key: str | None = None) -> dict[str, Any]:
        """The author of a video removed for a takedown contests it, once: a case in the
        takedowns queue that a reviewer other than the one who validated the request
        decides."""
        require_role(actor, Role.MEMBER)

        def body() -> tuple[dict[str, Any], list[Any]]:
            generation = self.get(Generation, generation_id)
            reference = generation.takedown_cause.get("request", "")
            if generation.requester_id != UUID(actor.id) or not reference \
                    or generation.state != State.TAKEN_DOWN:
                raise NotFoundError("no video of yours removed for a takedown request",
                                    id=str(generation_id))
            request = self.get(TakedownRequest, request_id(reference))
            case = self.open_case(
                actor, "generation", generation.id, generation.requester_id,
                f"counter-notice to {reference}",
                {"takedown_request": reference, "counter_notice": statement[:4000],
                 "removed_by": request.decided_by or "", "category": request.category,
                 "requester_statement": request.statement}, "urgent", ("takedown",))
            request.contest(actor, generation.id, statement, case.id)
            generation.link_case(actor, case.id)
            return {"case_id": str(case.id), "reference": reference}, \
                [request, case, generation]

        return dict(self.run("file_counter_notice", actor, key,
                             {"g": generation_id, "s": statement}, body))

    def decide_counter_notice(self, actor: Actor, reference: str, generation_id: UUID,
                              reinstate: bool, policy_code: str, reasons: str = "",
                              key: str | None = None) -> dict[str, Any]:
        """A reviewer other than the validating one, holding the counter-notice's case,
        reinstates the video (after checking it against consent as it is now, and
        disabling its bank entry) or upholds the removal."""
        require_role(actor, Role.REVIEWER, Role.ADMIN)

        def body() -> tuple[dict[str, Any], list[Any]]:
            request = self.get(TakedownRequest, request_id(reference), "takedown request")
            contest = request.contests.get(generation_id)
            if contest is None:
                raise NotFoundError("no counter-notice for this video", id=str(generation_id))
            case = self.get(ReviewCase, contest["case_id"], "case")
            self.check_case_access(actor, case)
            decision = "approve" if reinstate else "remove"
            self._decision_policy(actor, case, decision, policy_code)
            request.decide_contest(actor, generation_id, reinstate, reasons)
            case.decide(actor, decision, policy_code, self.clock())
            changed: list[Any] = [request, case]
            if reinstate:
                generation = self.get(Generation, generation_id)
                failures = self.consent_now(generation).failures
                if failures:
                    raise InvalidTransitionError(
                        "consent this video relied on was withdrawn since it was removed; "
                        "it cannot be reinstated", rules=list(failures))
                generation.restore(actor, case.id)
                entry = self.find(BankEntry, entry_id(LOCAL_SOURCE, str(generation_id)))
                if entry is not None and entry.enabled:
                    entry.disable(actor, f"reinstated on a counter-notice to {reference}")
                changed += [generation, entry]
            return {"state": "reinstated" if reinstate else "upheld"}, changed

        return dict(self.run("decide_counter_notice", actor, key,
                             {"t": reference, "g": generation_id, "r": reinstate,
                              "p": policy_code}, body))

    def escalate_due_takedowns(self, actor: Actor = SYSTEM) -> list[str]:
        """Escalates every open request within `takedown_escalate_before` of its deadline
        (its case to the senior queue, at the front); one transaction each. Returns the
        references escalated."""
        require_role(actor, Role.SYSTEM, Role.ADMIN)
        now = self.clock()
        margin = self.takedown_escalate_before
        due = [rid for rid, deadline in self._ledger().open.items() if now >= deadline - margin]
        escalated = []
        for rid in due:
            request = self.get(TakedownRequest, rid)
            if not request.due(now, margin):
                continue
            case = self.get(ReviewCase, request.case_id)
            left = request.deadline - now
            reason = f"takedown deadline in {max(0, int(left.total_seconds() // 60))} min" \
                if left.total_seconds() > 0 else "takedown deadline passed"
            request.escalate(actor, reason)
            if case.state in WORK_STATES:
                case.escalate(actor, reason, now, self.review_config().senior_of(case.queue),
                              lead=True)
            try:
                self.commit(request, case)
            except ConflictError:
                continue  # a concurrent sweep (or a decision) got there first
            escalated.append(request.reference)
        return escalated

    def takedown_open_margins(self) -> dict[str, float]:
        """Per category of the requests still open: seconds left before the nearest
        deadline (negative: past it). Categories with none open are absent."""
        now, nearest = self.clock(), dict[str, float]()
        for category, deadline in self._ledger().pending.values():
            left = (deadline - now).total_seconds()
            nearest[category] = min(left, nearest.get(category, left))
        return nearest

    def takedown_stats(self) -> dict[str, Any]:
        """Filing to the last copy out of the feed, over every actioned request."""
        ledger = self._ledger()
        seconds = ledger.removal_seconds
        return {"filed": ledger.filed, "actioned": len(seconds),
                "waiting_for_deadline_sweep": len(ledger.open),
                "p50_seconds": percentile(seconds, 0.5),
                "p99_seconds": percentile(seconds, 0.99)}


def _frame_hashes(generation: Generation) -> list[str]:
    """The frame hashes its scan recorded (none before the scan, or if it saw nothing)."""
    return list(generation.findings.get("works", {}).get("frame_hashes") or ())
