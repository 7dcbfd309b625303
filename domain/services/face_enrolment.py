"""Enrolled faces outside the event log: a 1:N face index that follows the log in any
process (API or worker), the shredding that erasure needs besides its event, and a cameo
owner's template and reference face opened for one job."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.actors import Actor
from domain.blobs import BlobNotFoundError, BlobStore, check_digest
from domain.errors import ValidationError
from domain.faces import FaceIndex, FaceTemplate, IndexMatch
from domain.identity import Identity
from domain.ids import identity_id
from domain.services.consent import ConsentCommands
from domain.services.core import CoreApplication
from domain.verification import TemplateSealer

log = logging.getLogger(__name__)

TOPICS = (get_topic(Identity.Verified), get_topic(Identity.Erased))


class FaceIndexFollower:
    """A `FaceIndex` kept equal to the enrolled templates of one model in the event log:
    the latest `Identity.Verified` of every identity not erased whose key still opens it.

    `catch_up()` reads the Verified and Erased events after its position (one indexed
    query when nothing is new, so a job calls it before every search); the first call
    rebuilds the index from the whole log. On `Erased` it also shreds: destroys the key and
    deletes the sealed reference face and the raw video the event names. Every process
    replays all erasures once at start, so an erasure whose process died between the event
    and the shredding is completed by the next start (or the next catch-up anywhere):
    each step is idempotent, and the position moves only once all of them succeeded."""

    def __init__(self, app: CoreApplication, index: FaceIndex, sealer: TemplateSealer,
                 blobs: BlobStore, batch: int = 1000) -> None:
        self.app = app
        self.index = index
        self.sealer = sealer
        self.blobs = blobs
        self.batch = batch
        self.position = 0
        self._built = False
        self._lock = threading.Lock()

    def catch_up(self) -> int:
        """Applies what is new in the log; returns how many identity events it read."""
        with self._lock:
            position, changes, erased = self._read_since(self.position)
            for event in erased:
                self._shred(event)
            opened = self._open(changes)
            if not self._built:
                self.index.rebuild((sid, t) for sid, t in opened.items() if t is not None)
                self._built = True
            else:
                for subject_id, template in opened.items():
                    if template is None:
                        self.index.remove(subject_id)
                    else:
                        self.index.add(subject_id, template)
            read = len(changes) + len(erased)
            self.position = position
            return read

    def _read_since(self, position: int) -> tuple[int, dict[str, bytes | None],
                                                   list[Identity.Erased]]:
        """Per identity, the sealed template to index (None: drop it), and the erasures."""
        changes: dict[str, bytes | None] = {}
        erased: list[Identity.Erased] = []
        last = position
        for last, event in self.app.events_since(position, TOPICS, self.batch):  # noqa: B007
            subject = str(event.originator_id)
            if isinstance(event, Identity.Verified):
                # A template of another model waits for re-enrolment, out of the index.
                changes[subject] = event.template_ciphertext \
                    if event.model_id == self.index.model_id else None
            elif isinstance(event, Identity.Erased):
                changes[subject] = None
                erased.append(event)
        return last, changes, erased

    def _open(self, changes: dict[str, bytes | None]) -> dict[str, FaceTemplate | None]:
        opened: dict[str, FaceTemplate | None] = {}
        for subject, sealed in changes.items():
            template = None
            if sealed is not None:
                try:
                    template = self.sealer.open(subject, sealed)
                except ValueError:  # tampered, or sealed by another vault: never indexed
                    log.warning("the sealed template of identity %s does not open", subject)
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
