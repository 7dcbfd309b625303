"""The prompt models as the composition root should build them: one MiniLM embedder shared
by the semantic work matcher, the instruction checker and the category classifier, or the
not-configured stand-ins (and the keyword rules) when its pinned weights cannot load."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.alias_policy import AliasPolicy
from domain.prompts import InstructionChecker, PromptClassifier, SemanticWorkMatcher
from inference.pinned import ModelUnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromptModels:
    matcher: SemanticWorkMatcher
    instructions: InstructionChecker
    classifier: PromptClassifier
    alias_policy: AliasPolicy
    reason: str = ""  # why the model is not configured, when it is not


def embedded_prompt_models(load: Callable[[], Any] | None = None,
                           cache: Any | None = None) -> PromptModels:
    """Loads MiniLM now (a few seconds: the weights' SHA-256, then the model); `load`
    builds (or hands back an already loaded) embedder instead; `cache`: a
    `SqliteVectorCache` for the description vectors, so a restart embeds only new ones."""
    from inference.alias_hygiene import WordfreqAliasPolicy
    from inference.prompt_categories import KeywordPromptClassifier

    try:
        from inference.instruction_checker import EmbeddingInstructionChecker
        from inference.prompt_categories_model import EmbeddingPromptClassifier
        from inference.semantic import EmbeddingWorkMatcher
        from inference.text_embedding import MiniLMTextEmbedder

        embedder = (load or MiniLMTextEmbedder)()
    except (ModelUnavailableError, ImportError, OSError) as exc:
        from inference.aliases import NotConfiguredSemanticMatcher
        from inference.instructions import NotConfiguredInstructionChecker

        log.error("the text model is not available, prompts are read by keywords: %s", exc)
        return PromptModels(NotConfiguredSemanticMatcher(), NotConfiguredInstructionChecker(),
                            KeywordPromptClassifier(), WordfreqAliasPolicy(), str(exc))
    return PromptModels(EmbeddingWorkMatcher(embedder, cache=cache),
                        EmbeddingInstructionChecker(embedder),
                        EmbeddingPromptClassifier(embedder), WordfreqAliasPolicy())
