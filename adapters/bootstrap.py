"""The composition root: every entrypoint (server, CLI, worker, tests, benchmarks) builds the
application here, passing fakes in where a test wants them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from adapters.blob_store import build_blob_store
from adapters.faces import build_faces
from adapters.hash_bank import build_frame_indexes
from adapters.key_store import PostgresKeyStore, SqliteKeyStore
from adapters.media_intake import MediaIntake
from adapters.prompt_models import build_prompt_models
from adapters.proof_of_work import KEY_NAME, ProofOfWork
from adapters.reference_index import build_media_scan
from adapters.secret_replay import WindowedSecretSealer
from adapters.settings import Settings
from adapters.template_crypto import TemplateVault
from adapters.webhook_secrets import KeyStoreWebhookSecrets
from domain.blobs import BlobStore
from domain.faces import FaceAnalyzer
from domain.media_scan import ReferenceEmbedder, ReferenceHasher, SafetyClassifier, WorkScanner
from domain.prompts import (
    InstructionChecker,
    PromptClassifier,
    SemanticWorkMatcher,
    WorkAliasIndex,
)
from domain.provenance import ProvenanceSigner, VisibleMarkFinder, Watermarker
from domain.services import Consentry
from domain.services.core import Clock, utc_now
from domain.services.face_enrolment import EnrolledFaces, FaceIndexFollower
from domain.services.verification import VerificationWorker
from domain.services.voice_enrolment import VoiceScan


@dataclass
class Container:
    settings: Settings
    app: Consentry
    blobs: BlobStore
    # Media scans (adapters/reference_index.py): reference hashing and embedding on upload,
    # the protected-work scan and safety labels of generated frames.
    reference_hasher: ReferenceHasher | None = None
    reference_embedder: ReferenceEmbedder | None = None
    work_scanner: WorkScanner | None = None
    safety: SafetyClassifier | None = None
    # Provenance (adapters/provenance_keys.py): the keyed invisible watermark and the C2PA
    # signer; the worker marks and signs with them, POST /provenance reads with them.
    watermarker: Watermarker | None = None
    signer: ProvenanceSigner | None = None
    # Whether an uploaded copy still shows a generation's visible mark (POST /provenance).
    visible_marks: VisibleMarkFinder | None = None
    # Faces (adapters/faces.py): per-identity data keys apart from the event store, the
    # vault sealing templates and reference faces with them, the face model, the 1:N index
    # following the log, cameo owners' faces, the VERIFY_IDENTITY job handler, and
    # VOICE-NOT-OTHERS (the speaker model and the 1:N voice index following the log).
    key_store: SqliteKeyStore | PostgresKeyStore = field(kw_only=True)
    vault: TemplateVault = field(kw_only=True)
    face_analyzer: FaceAnalyzer = field(kw_only=True)
    face_index: FaceIndexFollower = field(kw_only=True)
    cameo_faces: EnrolledFaces = field(kw_only=True)
    verification_handler: VerificationWorker = field(kw_only=True)
    voices: VoiceScan = field(kw_only=True)
    # Uploaded media is decoded first in sandboxed processes (adapters/media_intake.py),
    # started on first use; closed with the container unless it was given.
    media_intake: MediaIntake = field(default_factory=MediaIntake, kw_only=True)
    # The cost of a public takedown request (adapters/proof_of_work.py).
    proof_of_work: ProofOfWork = field(kw_only=True)
    owns_intake: bool = field(default=True, kw_only=True)

    def close(self) -> None:
        if self.owns_intake:
            self.media_intake.close()
        self.app.close()
        self.key_store.close()


def bootstrap(settings: Settings | None = None, *, clock: Clock = utc_now,
              alias_index: WorkAliasIndex | None = None,
              semantic_matcher: SemanticWorkMatcher | None = None,
              classifier: PromptClassifier | None = None,
              instruction_checker: InstructionChecker | None = None,
              blobs: BlobStore | None = None,
              watermarker: Watermarker | None = None,
              signer: ProvenanceSigner | None = None,
              face_analyzer: FaceAnalyzer | None = None,
              safety: SafetyClassifier | None = None,
              media_intake: MediaIntake | None = None) -> Container:
    settings = settings or Settings.from_env()
    if alias_index is None:
        from inference.aliases import AhoCorasickAliasIndex

        alias_index = AhoCorasickAliasIndex()
    models = build_prompt_models(settings)
    app = Consentry(settings.event_store_env(), alias_index=alias_index,
                    semantic_matcher=semantic_matcher or models.matcher,
                    classifier=classifier or models.classifier,
                    instruction_checker=instruction_checker or models.instructions,
                    alias_policy=models.alias_policy, clock=clock,
                    invite_caps=settings.invite_caps)
    from adapters.observability import on_commit

    app.on_commit = on_commit  # metrics, traces and log context of what commands write
    app.work_names.catch_up()  # at start, not on the first request
    app.hash_bank, app.published_frames = build_frame_indexes(app)
    if blobs is None:
        blobs = build_blob_store(settings)
    media = build_media_scan(settings, app, blobs)
    if watermarker is None or signer is None:
        from adapters.provenance_keys import build_provenance

        built = build_provenance(settings)
        watermarker, signer = watermarker or built[0], signer or built[1]
    from inference.visible_mark import StampFinder
    faces = build_faces(settings, app, blobs, face_analyzer)
    from adapters.face_tracks import PublishedFaceTracks

    # followed lazily: its first comparison (a person's retroactive scan) reads the log
    app.published_faces = PublishedFaceTracks(app, faces.vault, faces.analyzer.thresholds)
    app.secrets = WindowedSecretSealer(faces.key_store, clock)
    app.takedown_deadline = timedelta(hours=settings.takedown_deadline_hours)
    app.takedown_escalate_before = timedelta(hours=settings.takedown_escalate_hours)
    app.webhook_secrets = KeyStoreWebhookSecrets(faces.key_store)
    return Container(settings, app, blobs, reference_hasher=media.hasher,
                     reference_embedder=media.embedder, work_scanner=media.works,
                     safety=safety or media.safety, watermarker=watermarker, signer=signer,
                     visible_marks=StampFinder(),
                     key_store=faces.key_store, vault=faces.vault,
                     face_analyzer=faces.analyzer, face_index=faces.index,
                     cameo_faces=faces.cameo_faces,
                     verification_handler=faces.verification, voices=faces.voices,
                     media_intake=media_intake or MediaIntake(),
                     proof_of_work=ProofOfWork(faces.key_store.create(KEY_NAME),
                                               settings.takedown_pow_cost),
                     owns_intake=media_intake is None)
