"""The biometric side of the composition root: the key store of per-identity data keys
(apart from the event store), the vault that seals biometric data with them, the face
model, the 1:N index that follows the log, cameo owners' faces, the speech models (spoken
digits, speaker embeddings), the 1:N voice index and the verification job."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.key_store import PostgresKeyStore, SqliteKeyStore
from adapters.settings import Settings
from adapters.template_crypto import TemplateVault
from domain.blobs import BlobStore
from domain.faces import FaceAnalyzer
from domain.services import Consentry
from domain.services.face_enrolment import EnrolledFaces, FaceIndexFollower
from domain.services.verification import VerificationWorker
from domain.services.voice_enrolment import VoiceIndexFollower, VoiceScan
from domain.verification import VerificationChecker
from domain.voice import SpeakerEmbedder

KEY_FILE = "keys.sqlite3"


@dataclass
class FaceComponents:
    key_store: SqliteKeyStore | PostgresKeyStore
    vault: TemplateVault
    analyzer: FaceAnalyzer
    index: FaceIndexFollower
    cameo_faces: EnrolledFaces
    verification: VerificationWorker
    speaker: SpeakerEmbedder
    voice_index: VoiceIndexFollower

    @property
    def voices(self) -> VoiceScan:
        """VOICE-NOT-OTHERS for the generation worker."""
        return VoiceScan(self.speaker, self.voice_index)


def build_key_store(settings: Settings) -> SqliteKeyStore | PostgresKeyStore:
    """PostgreSQL for `postgres` (a table of its own beside the event tables), else a
    SQLite file of its own under the data directory (a temporary one for `memory`)."""
    if settings.store == "postgres":
        return PostgresKeyStore(settings.pg_dsn, settings.pg_schema or "public")
    if settings.store == "memory":
        return SqliteKeyStore.temporary()
    return SqliteKeyStore(settings.data_dir / KEY_FILE)


def build_faces(settings: Settings, app: Consentry, blobs: BlobStore,
                analyzer: FaceAnalyzer | None = None,
                checker: VerificationChecker | None = None) -> FaceComponents:
    """Rebuilds the face and voice indexes from the log (which also completes any erasure
    whose shredding a crash interrupted). `analyzer` defaults to dlib, the spoken digits to
    PocketSphinx and the voice to Resemblyzer, each loaded on first use (the voice index
    needs only the speaker model's id)."""
    from inference.face_index import TieredFaceIndex
    from inference.face_loading import embedded_face_analyzer
    from inference.liveness import VerificationVideoChecker
    from inference.speech_loading import embedded_speech

    key_store = build_key_store(settings)
    vault = TemplateVault(key_store)
    analyzer = analyzer if analyzer is not None else embedded_face_analyzer()
    index = FaceIndexFollower(app, TieredFaceIndex(analyzer.model_id, analyzer.metric),
                              vault, blobs)
    index.catch_up()
    digits, speaker = embedded_speech()
    voice_index = VoiceIndexFollower(app, TieredFaceIndex(speaker.model_id, speaker.metric),
                                     vault)
    voice_index.catch_up()
    if checker is None:
        checker = VerificationVideoChecker(analyzer, digits=digits, index=index,
                                           voice=speaker)
    return FaceComponents(
        key_store=key_store, vault=vault, analyzer=analyzer, index=index,
        cameo_faces=EnrolledFaces(app, vault, blobs),
        verification=VerificationWorker(app, blobs, checker, vault, index), speaker=speaker,
        voice_index=voice_index)
