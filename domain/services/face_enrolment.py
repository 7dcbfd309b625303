"""Enrolled faces outside the event log: a 1:N face index that follows the log in any
process (API or worker), the shredding that erasure needs besides its event, and a cameo
owner's template and reference face opened for one job."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.actors import Actor
from domain.blobs import BlobNotFoundError, BlobStore, check_digest
from domain.errors import ValidationError
from domain.faces import (
    LIKENESS_PREFIX,
    FaceIndex,
    FaceTemplate,
    IndexMatch,
    generation_key,
    likeness_key,
    likeness_subject,
    likeness_work_of,
)
from domain.generation import Generation
from domain.identity import Identity
from domain.ids import identity_id
from domain.services.consent import ConsentCommands
from domain.services.core import CoreApplication
from domain.services.log_follower import LogFollower, Positioned
from domain.verification import TemplateSealer
from domain.work import Work

log = logging.getLogger(__name__)

class FaceIndexFollower:
    """A `FaceIndex` kept equal, through a `LogFollower`, to the enrolled faces of one
    model in the event log: the latest `Identity.Verified` template of every identity not
    erased whose key still opens it, and the reference faces of every public figure's
    likeness work not withdrawn (subjects `work:<id>:<reference>`, see
    domain.faces.likeness_subject).

    `catch_up()` costs one query when the log has not moved, so a job calls it before
    every search; the first call builds the index from the whole log. On `Erased` it also
    shreds: destroys the key and deletes the sealed reference face and the raw video the
    event names (a withdrawn likeness work's key goes the same way). Every process replays
    all erasures once at start, so an erasure whose process died between the event and the
    shredding is completed by the next start (or the next catch-up anywhere): each step is
    idempotent, and the position moves only once all of them succeeded. A video deleted or
    rejected has its key destroyed the same way: the face-track templates its scan kept
    (`Generation.Scanned.sealed_tracks`) go with it."""

    topics = (get_topic(Identity.Verified), get_topic(Identity.Erased),
              get_topic(Work.ReferenceAdded), get_topic(Work.Withdrawn),
              get_topic(Generation.Deleted), get_topic(Generation.Rejected))

    def __init__(self, app: CoreApplication, index: FaceIndex, sealer: TemplateSealer,
                 blobs: BlobStore, batch: int = 1000) -> None:
        self.app = app
        self.index = index
        self.sealer = sealer
        self.blobs = blobs
        self._built = False
        self._likeness: dict[UUID, set[str]] = {}  # work id -> its indexed subjects
        self.follower = LogFollower(app, self, batch=batch)

    @property
    def position(self) -> int:
        return self.follower.position

    def catch_up(self) -> int:
        """Applies what is new in the log; returns how many events it read."""
        return self.follower.catch_up()

    def apply(self, events: Iterable[Positioned]) -> None:
        changes: dict[str, bytes | None] = {}  # subject -> sealed template (None: drop)
        erased: list[Identity.Erased] = []
        withdrawn: list[UUID] = []
        gone: list[UUID] = []  # videos deleted or rejected: their kept face tracks go too
        for _, event in events:
            if isinstance(event, Generation.Deleted | Generation.Rejected):
                gone.append(event.originator_id)
            elif isinstance(event, Identity.Verified):
                # A template of another model waits for re-enrolment, out of the index.
                changes[str(event.originator_id)] = event.template_ciphertext \
                    if event.model_id == self.index.model_id else None
            elif isinstance(event, Identity.Erased):
                changes[str(event.originator_id)] = None
                erased.append(event)
            elif isinstance(event, Work.ReferenceAdded):
                if event.face_template and event.face_model_id == self.index.model_id:
                    subject = likeness_subject(event.originator_id, event.digest)
                    self._likeness.setdefault(event.originator_id, set()).add(subject)
                    changes[subject] = event.face_template
            elif event.originator_id in self._likeness:  # a likeness work withdrawn
                withdrawn.append(event.originator_id)
                for subject in self._likeness.pop(event.originator_id):
                    changes[subject] = None
        for event in erased:
            self._shred(event)
        opened = self._open(changes)
        for work_id in withdrawn:
            self.sealer.erase(likeness_key(work_id))
        for generation_id in gone:
            self.sealer.erase(generation_key(generation_id))
        if not self._built:
            self.index.rebuild((sid, t) for sid, t in opened.items() if t is not None)
            self._built = True
            return
        for subject_id, template in opened.items():
            if template is None:
                self.index.remove(subject_id)
            else:
                self.index.add(subject_id, template)

    def _open(self, changes: dict[str, bytes | None]) -> dict[str, FaceTemplate | None]:
        opened: dict[str, FaceTemplate | None] = {}
        for subject, sealed in changes.items():
            template = None
            if sealed is not None:
                key = likeness_key(likeness_work_of(subject)) \
                    if subject.startswith(LIKENESS_PREFIX) else subject
                try:
                    template = self.sealer.open(key, sealed)
                except ValueError:  # tampered, or sealed by another vault: never indexed
                    log.warning("the sealed template of %s does not open", subject)
            opened[subject] = template
        return opened

    def _shred(self, event: Identity.Erased) -> None:
        self.sealer.erase(str(event.originator_id))
        for digest in (event.reference_face_digest, event.media_digest):
            if _is_digest(digest):
                self.blobs.delete(digest)

    # -- the FaceIndex port, answered by the followed index ----------------------------
    @property
    def model_id(self) -> str:
        return self.index.model_id

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, subject_id: object) -> bool:
        return subject_id in self.index

    def search(self, template: FaceTemplate, k: int = 5,
               max_distance: float | None = None) -> list[IndexMatch]:
        return self.index.search(template, k, max_distance)

    def add(self, subject_id: str, template: FaceTemplate) -> None:
        self.index.add(subject_id, template)

    def remove(self, subject_id: str) -> bool:
        return self.index.remove(subject_id)

    def rebuild(self, entries: Iterable[tuple[str, FaceTemplate]]) -> None:
        self.index.rebuild(entries)


def erase_identity(app: ConsentCommands, faces: FaceIndexFollower, actor: Actor,
                   member_id: UUID, key: str | None = None) -> str:
    """Records `Identity.Erased`, then shreds at once (key, sealed reference face, raw
    video) and drops the face from this process's index. Other processes drop it at their
    next catch-up; a crash in between is completed by the next one (see the follower)."""
    status: str = app.erase_identity(actor, member_id, key=key)
    faces.catch_up()
    return status


class EnrolledFaces:
    """A cameo owner's template and reference face, opened with their key for one job and
    never written anywhere in the clear. Read from the aggregate (strongly consistent):
    only a verified owner has them (not an erased one, nor one held for review)."""

    def __init__(self, app: CoreApplication, sealer: TemplateSealer,
                 blobs: BlobStore) -> None:
        self.app = app
        self.sealer = sealer
        self.blobs = blobs

    def _identity(self, member_id: UUID) -> Identity | None:
        identity = self.app.find(Identity, identity_id(member_id))
        return identity if identity is not None and identity.verified else None

    def template(self, member_id: UUID) -> FaceTemplate | None:
        identity = self._identity(member_id)
        if identity is None or not identity.template_ciphertext:
            return None
        return self.sealer.open(str(identity.id), identity.template_ciphertext)

    def reference(self, member_id: UUID) -> bytes | None:
        identity = self._identity(member_id)
        if identity is None or not _is_digest(identity.reference_face_digest):
            return None
        try:
            sealed = self.blobs.get(identity.reference_face_digest)
        except BlobNotFoundError:
            return None
        return self.sealer.open_reference_face(str(identity.id), sealed)


def _is_digest(text: str) -> bool:
    try:
        check_digest(text)
    except ValidationError:
        return False
    return True
