"""The composition root: every entrypoint (server, CLI, worker, tests, benchmarks) builds the
application here, passing fakes in where a test wants them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.utils import get_topic

from adapters.blob_store import LocalFileBlobStore
from adapters.settings import Settings
from domain.blobs import BlobStore
from domain.prompts import PromptClassifier, SemanticWorkMatcher, WorkAliasIndex
from domain.services import Consentry
from domain.services.core import Clock, utc_now
from domain.work import Work

WORK_TOPICS = [get_topic(Work.Registered), get_topic(Work.Withdrawn)]


@dataclass
class Container:
    settings: Settings
    app: Consentry
    blobs: BlobStore

    def close(self) -> None:
        self.app.close()


def bootstrap(settings: Settings | None = None, *, clock: Clock = utc_now,
              alias_index: WorkAliasIndex | None = None,
              semantic_matcher: SemanticWorkMatcher | None = None,
              classifier: PromptClassifier | None = None,
              blobs: BlobStore | None = None) -> Container:
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
        blobs = LocalFileBlobStore.temporary() if settings.store == "memory" \
            else LocalFileBlobStore(settings.data_dir / "blobs")
    return Container(settings, app, blobs)


def _work_aliases(app: Consentry, batch: int = 1000) -> Iterator[tuple[UUID, tuple[str, ...]]]:
    """Works that are registered and not withdrawn, in log order, read in bulk."""
    live: dict[UUID, tuple[str, ...]] = {}
    start = 1
    while True:
        notes = app.recorder.select_notifications(start, batch, topics=WORK_TOPICS)
        for note in notes:
            event = app.mapper.to_domain_event(note)
            if isinstance(event, Work.Registered):
                live[event.originator_id] = event.aliases
            else:
                live.pop(event.originator_id, None)
        if len(notes) < batch:
            break
        start = notes[-1].id + 1
    yield from live.items()


def load_alias_index(app: Consentry, index: WorkAliasIndex) -> None:
    bulk = getattr(index, "bulk_load", None)
    items = _work_aliases(app)
    if bulk is not None:
        bulk(items)
    else:
        for work_id, aliases in items:
            index.add(work_id, aliases)
