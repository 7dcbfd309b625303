"""The real text model, loaded once per test session (about two seconds), for the tests of
every check that reads prompts with it."""

from __future__ import annotations

from functools import cache

import torch

from inference.text_embedding import MiniLMTextEmbedder


@cache
def minilm() -> MiniLMTextEmbedder:
    torch.set_num_threads(1)  # tests share the machine's two cores
    return MiniLMTextEmbedder()
