"""The composition root: every entrypoint (server, CLI, worker, tests, benchmarks) builds the
application here, passing fakes in where a test wants them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.utils import get_topic

from adapters.blob_store import build_blob_store
from adapters.faces import build_faces
from adapters.key_store import PostgresKeyStore, SqliteKeyStore
from adapters.reference_index import build_media_scan
from adapters.settings import Settings
from adapters.template_crypto import TemplateVault
from domain.blobs import BlobStore
from domain.faces import FaceAnalyzer
from domain.media_scan import ReferenceEmbedder, ReferenceHasher, SafetyClassifier, WorkScanner
from domain.prompts import PromptClassifier, SemanticWorkMatcher, WorkAliasIndex
from domain.provenance import ProvenanceSigner, VisibleMarkFinder, Watermarker
from domain.services import Consentry
from domain.services.core import Clock, utc_now
from domain.services.face_enrolment import EnrolledFaces, FaceIndexFollower
from domain.services.verification import VerificationWorker
from domain.work import Work

WORK_TOPICS = [get_topic(Work.Registered), get_topic(Work.Withdrawn)]


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
    # following the log, cameo owners' faces, and the VERIFY_IDENTITY job handler.
    key_store: SqliteKeyStore | PostgresKeyStore = field(kw_only=True)
    vault: TemplateVault = field(kw_only=True)
    face_analyzer: FaceAnalyzer = field(kw_only=True)
    face_index: FaceIndexFollower = field(kw_only=True)
    cameo_faces: EnrolledFaces = field(kw_only=True)
    verification_handler: VerificationWorker = field(kw_only=True)

    def close(self) -> None:
        self.app.close()
        self.key_store.close()


def bootstrap(settings: Settings | None = None, *, clock: Clock = utc_now,
              alias_index: WorkAliasIndex | None = None,
              semantic_matcher: SemanticWorkMatcher | None = None,
              classifier: PromptClassifier | None = None,
              blobs: BlobStore | None = None,
              watermarker: Watermarker | None = None,
              signer: ProvenanceSigner | None = None,
              face_analyzer: FaceAnalyzer | None = None,
              safety: SafetyClassifier | None = None) -> Container:
    settings = settings or Settings.from_env()
    if alias_index is None:
        from inference.aliases import AhoCorasickAliasIndex

        alias_index = AhoCorasickAliasIndex()
    if semantic_matcher is None:
        from inference.aliases import NotConfiguredSemanticMatcher

        semantic_matcher = NotConfiguredSemanticMatcher()
    if classifier is None:
        from inference.prompt_categories import KeywordPromptClassifier

        classifier = KeywordPromptClassifier()
    app = Consentry(settings.event_store_env(), alias_index=alias_index,
                    semantic_matcher=semantic_matcher, classifier=classifier, clock=clock)
    load_alias_index(app, alias_index)
    if blobs is None:
        blobs = build_blob_store(settings)
    media = build_media_scan(settings, app, blobs)
    if watermarker is None or signer is None:
        from adapters.provenance_keys import build_provenance

        built = build_provenance(settings)
        watermarker, signer = watermarker or built[0], signer or built[1]
    from inference.visible_mark import StampFinder
    faces = build_faces(settings, app, blobs, face_analyzer)
    return Container(settings, app, blobs, reference_hasher=media.hasher,
                     reference_embedder=media.embedder, work_scanner=media.works,
                     safety=safety or media.safety, watermarker=watermarker, signer=signer,
                     visible_marks=StampFinder(),
                     key_store=faces.key_store, vault=faces.vault,
                     face_analyzer=faces.analyzer, face_index=faces.index,
                     cameo_faces=faces.cameo_faces,
                     verification_handler=faces.verification)


def _work_aliases(app: Consentry) -> Iterator[tuple[UUID, tuple[str, ...]]]:
    """Works that are registered and not withdrawn, in log order, read in bulk."""
    live: dict[UUID, tuple[str, ...]] = {}
    for _, event in app.events_since(0, WORK_TOPICS):
        if isinstance(event, Work.Registered):
            live[event.originator_id] = event.aliases
        else:
            live.pop(event.originator_id, None)
    yield from live.items()


def load_alias_index(app: Consentry, index: WorkAliasIndex) -> None:
    bulk = getattr(index, "bulk_load", None)
    items = _work_aliases(app)
    if bulk is not None:
        bulk(items)
    else:
        for work_id, aliases in items:
            index.add(work_id, aliases)
