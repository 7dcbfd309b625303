"""Prompt categories from the keyword rules plus the MiniLM sentence model: the prompt's
nearest labelled examples (inference/data/category_examples.json) add the categories that
words alone miss ("she slowly undresses"); a close but not decisive example says uncertain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from domain.prompts import CATEGORIES, CategoryLabel, PromptClassifier
from inference.prompt_categories import KeywordPromptClassifier
from inference.semantic import TextEmbedder

__all__ = ["EXAMPLES", "CategoryThresholds", "EmbeddingPromptClassifier"]

EXAMPLES = Path(__file__).resolve().parent / "data" / "category_examples.json"
NONE = "none"


@dataclass(frozen=True)
class CategoryThresholds:
    """Cosine similarity to the nearest example of a category: from `certain` the prompt
    is in it; from `uncertain` a person decides. Either way the category's example must
    be closer than the nearest ordinary ("none") example by `margin`. Chosen on
    benchmarks/data/prompt_categories.jsonl (disjoint from the examples)."""

    certain: float = 0.55
    uncertain: float = 0.35
    margin: float = 0.0


class EmbeddingPromptClassifier:
    """`PromptClassifier`: the keyword labels (strong words are certain, weak ones not)
    joined with the model's; the evidence names the nearest example and its score."""

    def __init__(self, embedder: TextEmbedder, keywords: PromptClassifier | None = None,
                 examples: Path = EXAMPLES,
                 thresholds: CategoryThresholds | None = None) -> None:
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.keywords = keywords if keywords is not None else KeywordPromptClassifier()
        self.thresholds = thresholds or CategoryThresholds()
        table: dict[str, list[str]] = json.loads(examples.read_text())
        unknown = set(table) - {*CATEGORIES, NONE}
        if unknown:
            raise ValueError(f"unknown categories in {examples}: {sorted(unknown)}")
        self._labels = [c for c, texts in table.items() for _ in texts]
        self._texts = [t for texts in table.values() for t in texts]
        self._vectors = embedder.encode(self._texts)

    def classify(self, prompt: str) -> list[CategoryLabel]:
        labels = {label.category: label for label in self.keywords.classify(prompt)}
        for label in self._by_model(prompt):
            known = labels.get(label.category)
            if known is None or (label.certain and not known.certain):
                evidence = (*(known.evidence if known else ()), *label.evidence)
                labels[label.category] = CategoryLabel(label.category, label.certain,
                                                       evidence)
            else:
                labels[known.category] = CategoryLabel(
                    known.category, known.certain, (*known.evidence, *label.evidence))
        return [labels[c] for c in CATEGORIES if c in labels]

    def _by_model(self, prompt: str) -> list[CategoryLabel]:
        scores = self._vectors @ self.embedder.embed(prompt)
        best: dict[str, tuple[float, int]] = {}
        for row, (label, score) in enumerate(zip(self._labels, scores, strict=True)):
            if label not in best or score > best[label][0]:
                best[label] = (float(score), row)
        ordinary = best.get(NONE, (-1.0, -1))[0]
        t = self.thresholds
        out = []
        for category in CATEGORIES:
            score, row = best.get(category, (-1.0, -1))
            if score < t.uncertain or score - ordinary < t.margin:
                continue
            evidence = (f"model {self.model_id}: {score:.2f} like {self._texts[row]!r}",)
            out.append(CategoryLabel(category, score >= t.certain, evidence))
        return out
