"""Enrolled voices outside the event log: the 1:N index of verified voices that follows the
log in any process, and VOICE-NOT-OTHERS run on a rendered video against it (SPEC §8)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from eventsourcing.utils import get_topic

from domain.faces import FaceIndex
from domain.identity import Identity
from domain.services.core import CoreApplication
from domain.services.log_follower import LogFollower, Positioned
from domain.verification import TemplateSealer
from domain.voice import SpeakerEmbedder, VoiceScanReport, VoiceTemplate, scan_voices

log = logging.getLogger(__name__)


class VoiceIndexFollower:
    """A voice index kept equal, through a `LogFollower`, to the enrolled voices of one
    speaker model: the voice of the latest `Identity.Verified` of every identity not erased
    whose key still opens it. A re-verification without a voice (no speaker model ran, too
    little speech) or with another model's voice drops the old one; `Erased` drops it (the
    face follower shreds the key, which seals the voice too). `catch_up()` before every
    search, as for faces (docs/followers.md)."""

    topics = (get_topic(Identity.Verified), get_topic(Identity.Erased))

    def __init__(self, app: CoreApplication, index: FaceIndex, sealer: TemplateSealer,
                 batch: int = 1000) -> None:
        self.index = index
        self.sealer = sealer
        self._built = False
        self.follower = LogFollower(app, self, batch=batch)

    def catch_up(self) -> int:
        return self.follower.catch_up()

    def apply(self, events: Iterable[Positioned]) -> None:
        changes: dict[str, bytes | None] = {}  # identity id -> sealed voice (None: drop)
        for _, event in events:
            sealed = None
            if isinstance(event, Identity.Verified) and event.voice_ciphertext \
                    and event.voice_model_id == self.index.model_id:
                sealed = event.voice_ciphertext
            changes[str(event.originator_id)] = sealed
        opened: dict[str, VoiceTemplate | None] = {}
        for subject, ciphertext in changes.items():
            voice = None
            if ciphertext is not None:
                try:
                    voice = self.sealer.open_voice(subject, ciphertext)
                except ValueError:  # tampered, or sealed by another vault: never indexed
                    log.warning("the sealed voice of %s does not open", subject)
            opened[subject] = voice
        if not self._built:
            self.index.rebuild((s, v) for s, v in opened.items() if v is not None)
            self._built = True
            return
        for subject, voice in opened.items():
            if voice is None:
                self.index.remove(subject)
            else:
                self.index.add(subject, voice)

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, subject_id: object) -> bool:
        return subject_id in self.index


class VoiceScan:
    """VOICE-NOT-OTHERS for the worker: the index brought up to date from the log, then the
    rendered video's speech judged against it (`domain.voice.scan_voices`); `consenting`
    holds the identity ids of the generation's consenting cameos. An embedder that is not
    configured yields a not-configured report, which the rule holds for review."""

    def __init__(self, embedder: SpeakerEmbedder, index: VoiceIndexFollower) -> None:
        self.embedder = embedder
        self.index = index

    def scan(self, media: bytes, consenting: frozenset[str]) -> VoiceScanReport:
        self.index.catch_up()
        return scan_voices(self.embedder, media, self.index.index, consenting)
