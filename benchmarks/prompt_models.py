"""The two other prompt checks on the MiniLM model, on their committed labelled sets: cameo
instructions against prompts (benchmarks/data/instruction_pairs.jsonl) and content
categories (benchmarks/data/prompt_categories.jsonl) beside the keyword rules alone.

    python -m benchmarks.prompt_models [--threads 1]
"""

from __future__ import annotations

import argparse
import json

import torch

from benchmarks._common import ROOT, table
from domain.prompts import PromptClassifier
from inference.instruction_checker import EmbeddingInstructionChecker
from inference.prompt_categories import KeywordPromptClassifier
from inference.prompt_categories_model import EmbeddingPromptClassifier
from inference.text_embedding import MiniLMTextEmbedder

DATA = ROOT / "benchmarks" / "data"


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line]


def categories(classifier: PromptClassifier, labelled: list[dict]) -> dict[str, float]:
    found = certain = positives = flagged = flagged_certain = negatives = 0
    for row in labelled:
        labels = {lab.category: lab for lab in classifier.classify(row["prompt"])}
        if row["categories"]:
            positives += 1
            wanted = row["categories"][0]
            found += wanted in labels
            certain += wanted in labels and labels[wanted].certain
        else:
            negatives += 1
            flagged += bool(labels)
            flagged_certain += any(lab.certain for lab in labels.values())
    return {"recall": found / positives, "certain": certain / positives,
            "neutral_flagged": flagged / negatives,
            "neutral_certain": flagged_certain / negatives}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    embedder = MiniLMTextEmbedder()

    checker = EmbeddingInstructionChecker(embedder)
    pairs = rows("instruction_pairs.jsonl")
    conflicts = [p for p in pairs if p["conflict"]]
    unrelated = [p for p in pairs if not p["conflict"]]
    caught = sum(checker.check(p["prompt"], p["instructions"]).outcome == "review"
                 for p in conflicts)
    reviewed = sum(checker.check(p["prompt"], p["instructions"]).outcome == "review"
                   for p in unrelated)
    print(f"instructions: {len(conflicts)} conflicting and {len(unrelated)} unrelated pairs, "
          f"review at similarity >= {checker.thresholds.review}")
    print(table(["instruction checker", "conflicts sent to review", "unrelated sent to review"],
                [("no checker (every prompt to review)", 1.0, 1.0),
                 (checker.model_id, caught / len(conflicts), reviewed / len(unrelated))]))

    labelled = rows("prompt_categories.jsonl")
    keyword = categories(KeywordPromptClassifier(), labelled)
    model = categories(EmbeddingPromptClassifier(embedder), labelled)
    print(f"categories: {sum(bool(r['categories']) for r in labelled)} labelled prompts, "
          f"{sum(not r['categories'] for r in labelled)} ordinary ones")
    print(table(["classifier", "recall", "certain", "ordinary flagged", "ordinary certain",
                 "recall vs keywords"],
                [(name, r["recall"], r["certain"], r["neutral_flagged"], r["neutral_certain"],
                  r["recall"] / keyword["recall"])
                 for name, r in (("keywords", keyword), ("keywords + model", model))]))
    print(f"RESULT instruction_recall={caught / len(conflicts):.3f} "
          f"instruction_false_review_rate={reviewed / len(unrelated):.3f} "
          f"category_recall={model['recall']:.3f} "
          f"category_false_flag_rate={model['neutral_flagged']:.3f} "
          f"keyword_category_recall={keyword['recall']:.3f}")


if __name__ == "__main__":
    main()
