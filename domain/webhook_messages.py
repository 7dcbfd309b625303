"""Which events of the log become webhook messages, to whom, with what data: a rights holder
hears of its works' use, of videos using them taken down and of its grants expiring; client
apps hear of members' appearances, takedowns and review decisions, to tell the member."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from uuid import UUID

from domain.generation import DECIDED, FINAL, Generation
from domain.grant import Grant
from domain.member import Member
from domain.review_case import ReviewCase
from domain.takedown import TakedownRequest
from domain.webhook import (
    CAMEO_APPEARANCE,
    GENERATION_TAKEN_DOWN,
    GRANT_EXPIRED,
    REVIEW_DECIDED,
    TAKEDOWN_REQUEST_ACTIONED,
    WORK_USED,
)
from domain.work import Work

A = TypeVar("A")


class Aggregates(Protocol):
    def find(self, cls: type[A], aggregate_id: UUID) -> A | None: ...


@dataclass(frozen=True)
class Message:
    """`rights_holder_id`: to that rights holder's endpoints; None: to client apps'."""

    type: str
    data: dict[str, Any]
    rights_holder_id: str | None = None


def messages_of(event: Any, app: Aggregates) -> list[Message]:
    """Reads the aggregates an event refers to as they are now (their owners never
    change; a generation's featured set only grows)."""
    match event:
        case Generation.Decided() if DECIDED[event.outcome] not in FINAL:
            return _decided(event, app)
        case Generation.Scanned() if event.work_ids:
            return _seen(event, app)
        case Generation.Published():
            return _appearances(event.originator_id, app, "published")
        case Generation.TakenDown():
            return _taken_down(event, app)
        case TakedownRequest.Actioned():
            return _actioned(event, app)
        case Grant.Expired():
            grant = app.find(Grant, event.originator_id)
            return [] if grant is None else [Message(GRANT_EXPIRED, {
                "grant_id": str(grant.id), "work_id": str(grant.work_id),
                "expired_at": event.timestamp.isoformat()}, str(grant.rights_holder_id))]
        case ReviewCase.Decided() | ReviewCase.AppealDecided():
            return _review(event, app)
    return []


def _holder(app: Aggregates, work_id: UUID) -> str | None:
    work = app.find(Work, work_id)
    return str(work.rights_holder_id) if work is not None else None


def _usage(app: Aggregates, generation_id: UUID, works: dict[UUID, str]) -> list[Message]:
    found = []
    for work_id, how in works.items():
        holder = _holder(app, work_id)
        if holder is not None:
            found.append(Message(WORK_USED, {"work_id": str(work_id),
                                             "generation_id": str(generation_id),
                                             "how": how}, holder))
    return found


def _decided(event: Generation.Decided, app: Aggregates) -> list[Message]:
    named = set(event.work_ids)
    works = {w: "named" if w in named else "inherited" for w in event.featured_work_ids}
    return [*_usage(app, event.originator_id, works),
            *_appearances(event.originator_id, app, "draft")]


def _seen(event: Generation.Scanned, app: Aggregates) -> list[Message]:
    generation = app.find(Generation, event.originator_id)
    if generation is None:
        return []
    before = set(generation.featured_work_ids) - set(generation.visual_work_ids)
    return _usage(app, event.originator_id,
                  {w: "visual" for w in event.work_ids if w not in before})


def _appearances(generation_id: UUID, app: Aggregates, stage: str) -> list[Message]:
    generation = app.find(Generation, generation_id)
    if generation is None:
        return []
    author = app.find(Member, generation.requester_id)
    handle = author.handle if author is not None else ""
    return [Message(CAMEO_APPEARANCE, {
        "member_id": str(member), "generation_id": str(generation_id), "stage": stage,
        "by_member_id": str(generation.requester_id), "by_handle": handle})
        for member in generation.featured_member_ids if member != generation.requester_id]


def _taken_down(event: Generation.TakenDown, app: Aggregates) -> list[Message]:
    generation = app.find(Generation, event.originator_id)
    if generation is None:
        return []
    data = {"generation_id": str(generation.id), "cause": dict(event.cause),
            "requester_id": str(generation.requester_id),
            "featured_member_ids": [str(m) for m in generation.featured_member_ids]}
    found = [Message(GENERATION_TAKEN_DOWN, data)]
    holders: dict[str, list[str]] = {}
    for work_id in generation.featured_work_ids:
        holder = _holder(app, work_id)
        if holder is not None:
            holders.setdefault(holder, []).append(str(work_id))
    for holder, works in holders.items():
        found.append(Message(GENERATION_TAKEN_DOWN, {
            "generation_id": str(generation.id), "cause": dict(event.cause),
            "work_ids": works}, holder))
    return found


def _actioned(event: TakedownRequest.Actioned, app: Aggregates) -> list[Message]:
    """To client apps: what a takedown request removed and how fast; to each rights holder
    whose works the removed videos showed: the same, with those works. Never who asked."""
    request = app.find(TakedownRequest, event.originator_id)
    if request is None:
        return []
    data = {"reference": request.reference, "category": request.category,
            "removed_generation_ids": [str(g) for g in event.removed],
            "seconds_since_filing": event.seconds_since_filing}
    found = [Message(TAKEDOWN_REQUEST_ACTIONED, data)]
    holders: dict[str, set[str]] = {}
    for generation_id in event.removed:
        generation = app.find(Generation, generation_id)
        for work_id in generation.featured_work_ids if generation is not None else ():
            holder = _holder(app, work_id)
            if holder is not None:
                holders.setdefault(holder, set()).add(str(work_id))
    found += [Message(TAKEDOWN_REQUEST_ACTIONED, {**data, "work_ids": sorted(works)}, holder)
              for holder, works in holders.items()]
    return found


def _review(event: Any, app: Aggregates) -> list[Message]:
    case = app.find(ReviewCase, event.originator_id)
    if case is None or case.subject_owner_id is None:
        return []
    return [Message(REVIEW_DECIDED, {
        "case_id": str(case.id), "subject_kind": case.subject_kind,
        "subject_id": str(case.subject_id), "owner_id": str(case.subject_owner_id),
        "decision": event.decision, "policy_code": event.policy_code,
        "appeal": isinstance(event, ReviewCase.AppealDecided)})]
