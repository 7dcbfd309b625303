"""The prompt readers the composition root builds: MiniLM loaded once per process (a few
seconds, then shared by every container of the process: its weights are read-only), each
container with its own work index, or the keyword rules when configured so or when the
pinned weights cannot load (the reason is logged and the gate records the matcher as not
configured)."""

from __future__ import annotations

from functools import cache
from typing import Any

from adapters.settings import Settings
from inference.text_loading import PromptModels, embedded_prompt_models


@cache
def _shared_embedder() -> Any:
    from inference.text_embedding import MiniLMTextEmbedder

    return MiniLMTextEmbedder()


def build_prompt_models(settings: Settings) -> PromptModels:
    if settings.prompt_models == "keywords":
        from inference.alias_hygiene import WordfreqAliasPolicy
        from inference.aliases import NotConfiguredSemanticMatcher
        from inference.instructions import NotConfiguredInstructionChecker
        from inference.prompt_categories import KeywordPromptClassifier

        return PromptModels(NotConfiguredSemanticMatcher(), NotConfiguredInstructionChecker(),
                            KeywordPromptClassifier(), WordfreqAliasPolicy(),
                            "CONSENTRY_PROMPT_MODELS=keywords")
    vectors = None
    if settings.store != "memory":
        from inference.vector_cache import SqliteVectorCache

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        vectors = SqliteVectorCache(settings.data_dir / "vectors.sqlite3")
    return embedded_prompt_models(load=_shared_embedder, cache=vectors)
