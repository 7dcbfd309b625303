"""The application service: one eventsourcing `Application` whose methods are the commands,
assembled from one module per area (access, members, consent, rights, generations, review,
engagement, provenance)."""

from __future__ import annotations

from domain.prompts import PromptClassifier, SemanticWorkMatcher, WorkAliasIndex
from domain.services.core import Clock, utc_now
from domain.services.engagement import EngagementCommands
from domain.services.provenance import ProvenanceCommands


class Consentry(ProvenanceCommands, EngagementCommands):
    """Persistence comes from `env` (PERSISTENCE_MODULE: popo, sqlite or postgres); the
    prompt readers are ports, passed in by the composition root."""

    def __init__(self, env: dict[str, str] | None, *, alias_index: WorkAliasIndex,
                 semantic_matcher: SemanticWorkMatcher, classifier: PromptClassifier,
                 clock: Clock = utc_now) -> None:
        super().__init__(env, clock)
        self.alias_index = alias_index
        self.semantic_matcher = semantic_matcher
        self.classifier = classifier


__all__ = ["Consentry"]
