"""Prompt screening for protected works: recall and false blocks on the committed labelled
set (benchmarks/data/prompt_screening_*), the alias automaton alone beside the automaton plus
the semantic matcher, with the labelled works only and with N generated works added (5
aliases and a description each); then the latency of the whole gate decision on one thread.

    python -m benchmarks.prompt_screening [--extra 100000] [--decisions 600] [--threads 1]

A positive counts as caught when a hit names its work ("match" or "review": a person then
decides); a negative is a false block when any hit says "match" (the gate denies), a false
review when the only hits say "review". Description vectors of generated works are cached
under var/benchmark-cache (computing 100,000 takes minutes on one core)."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path
from uuid import UUID

import numpy as np
import torch

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from benchmarks._common import ROOT, percentile, table
from benchmarks._screening_data import (
    LabelledPrompt,
    LabelledWork,
    generated_works,
    labelled_prompts,
    labelled_works,
)
from domain.actors import Actor, Role
from domain.prompts import AliasHit
from domain.work import Work
from inference.aliases import AhoCorasickAliasIndex, NotConfiguredSemanticMatcher
from inference.semantic import EmbeddingWorkMatcher
from inference.text_embedding import MiniLMTextEmbedder
from inference.vector_cache import SqliteVectorCache
from tests.fakes import World

CACHE = ROOT / "var" / "benchmark-cache"
STYLES = ("wide", "close", "slow", "bright", "dark", "warm", "cold", "soft", "sharp", "grey",
          "vintage", "modern", "aerial", "handheld", "steady", "golden", "misty", "vivid")


def description_vectors(embedder: MiniLMTextEmbedder, works: list[LabelledWork],
                        tag: str) -> np.ndarray:
    path = CACHE / f"descriptions-{tag}-{embedder.model_id.replace(':', '_')}.npy"
    if path.exists():
        cached: np.ndarray = np.load(path)
        if cached.shape[0] == len(works):
            return cached
    started = time.perf_counter()
    vectors = embedder.encode([w.description for w in works], batch_size=256)
    print(f"embedded {len(works):,} descriptions in {time.perf_counter() - started:.0f}s")
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def score(prompts: list[LabelledPrompt], found: list[list[AliasHit]],
          ids: dict[UUID, str]) -> dict[str, float]:
    caught = strict = blocks = reviews = positives = negatives = 0
    for prompt, hits in zip(prompts, found, strict=True):
        if prompt.work is not None:
            positives += 1
            mine = [h for h in hits if ids.get(h.work_id) == prompt.work]
            caught += bool(mine)
            strict += any(h.decision == "match" for h in mine)
        else:
            negatives += 1
            blocks += any(h.decision == "match" for h in hits)
            reviews += bool(hits) and all(h.decision == "review" for h in hits)
    return {"recall": caught / positives, "recall_match": strict / positives,
            "false_block_rate": blocks / negatives, "false_review_rate": reviews / negatives}


def misses(prompts: list[LabelledPrompt], found: list[list[AliasHit]],
           ids: dict[UUID, str]) -> list[str]:
    out = []
    for prompt, hits in zip(prompts, found, strict=True):
        mine = [h for h in hits if ids.get(h.work_id) == prompt.work]
        if prompt.work is not None and not mine:
            out.append(f"  missed   [{prompt.kind}] {prompt.prompt}")
        elif prompt.work is None and hits:
            names = ", ".join(f"{h.alias} {h.method} {h.decision} {h.score}" for h in hits)
            out.append(f"  flagged  [{prompt.kind}] {prompt.prompt} -> {names}")
    return out


def screen(index: AhoCorasickAliasIndex, matcher: EmbeddingWorkMatcher | None,
           prompts: list[LabelledPrompt]) -> list[list[AliasHit]]:
    return [index.find(p.prompt) + (matcher.find(p.prompt) if matcher else [])
            for p in prompts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extra", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=600)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="list misses and false hits")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    works, prompts = labelled_works(), labelled_prompts()
    ids = {w.id: w.key for w in works}
    embedder = MiniLMTextEmbedder()
    index = AhoCorasickAliasIndex()
    index.bulk_load((w.id, w.names) for w in works)
    matcher = EmbeddingWorkMatcher(embedder)
    labelled_vectors = embedder.encode([w.description for w in works])
    matcher.bulk_load([(w.id, w.names, w.description) for w in works], labelled_vectors)
    small = {"automaton": score(prompts, screen(index, None, prompts), ids),
             "matcher": score(prompts, found := screen(index, matcher, prompts), ids)}
    report = misses(prompts, found, ids)

    extra = generated_works(args.extra)
    vectors = description_vectors(embedder, extra, f"{args.extra}-7")
    every = works + extra
    index.bulk_load((w.id, w.names) for w in extra)
    matcher.bulk_load([(w.id, w.names, w.description) for w in every],
                      np.concatenate([labelled_vectors, vectors]))
    large = {"automaton": score(prompts, screen(index, None, prompts), ids),
             "matcher": score(prompts, found := screen(index, matcher, prompts), ids)}
    report_large = misses(prompts, found, ids)

    p50, p99, p50_off, p99_off, p50_model, p99_model = gate_latency(
        every, np.concatenate([labelled_vectors, vectors]), embedder, args.decisions, prompts)
    kinds = Counter(p.kind for p in prompts)
    print(f"labelled set: {len(works)} works, {sum(p.work is not None for p in prompts)} "
          f"positives, {sum(p.work is None for p in prompts)} negatives "
          f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); model "
          f"{matcher.model_id}, thresholds {matcher.thresholds}; torch threads {args.threads}")
    rows = []
    for size, results in ((0, small), (args.extra, large)):
        for name, r in results.items():
            rows.append((f"{name}, +{size:,} works", r["recall"], r["recall_match"],
                         r["false_block_rate"], r["false_review_rate"],
                         r["recall"] / max(results["automaton"]["recall"], 1e-9)))
    print(table(["screening", "recall", "recall (match only)", "false blocks",
                 "false reviews", "recall vs automaton"], rows))
    print(table([f"gate decision (+{args.extra:,} works)", "p50 ms", "p99 ms",
                 "p99 vs matcher off"], [
        ("matcher off (automaton, category model, 8 rules)", p50_off, p99_off, 1.0),
        ("matcher on", p50, p99, p99 / p99_off),
        ("of which: the MiniLM forward pass alone", p50_model, p99_model, p99_model / p99_off)]))
    if args.verbose:
        print("with the labelled works only:", *report, sep="\n")
        print(f"with +{args.extra:,} works:", *report_large, sep="\n")
    m, m_large = small["matcher"], large["matcher"]
    print(f"RESULT recall={m['recall']:.3f} false_block_rate={m['false_block_rate']:.3f} "
          f"recall_100k={m_large['recall']:.3f} "
          f"false_block_rate_100k={m_large['false_block_rate']:.3f} p99_ms={p99:.1f} "
          f"p50_ms={p50:.1f} model_p99_ms={p99_model:.1f} "
          f"false_review_rate={m['false_review_rate']:.3f} "
          f"false_review_rate_100k={m_large['false_review_rate']:.3f} "
          f"automaton_recall={small['automaton']['recall']:.3f} extra_works={args.extra}")


def gate_latency(works: list[LabelledWork], vectors: np.ndarray, embedder: MiniLMTextEmbedder,
                 decisions: int, prompts: list[LabelledPrompt]) -> tuple[float, ...]:
    """The gate of a Consentry app holding every work as an aggregate, deciding distinct
    prompts (so the embedding cache never answers), with the matcher on and then off;
    then the model's forward pass alone on the same kind of prompts. The app's matcher
    follows the log as in production; its vector cache holds the descriptions' embeddings
    computed above, so catching up does not embed them again."""
    tmp = tempfile.TemporaryDirectory()
    cache = SqliteVectorCache(Path(tmp.name) / "vectors.sqlite3")
    cache.put_many(embedder.model_id, [w.description for w in works], vectors)
    matcher = EmbeddingWorkMatcher(embedder, cache=cache)
    container = bootstrap(Settings(store="memory", data_dir=Path(tmp.name)),
                          semantic_matcher=matcher)
    app = container.app
    world = World(app)
    holder = world.rights_holder()
    aggregates = [Work.register(holder, UUID(holder.id), w.title, "character", w.aliases,
                                w.description) for w in works]
    for i in range(0, len(aggregates), 2000):
        app.commit(*aggregates[i:i + 2000])
    app.work_names.catch_up()  # what a process does at start
    requester = Actor(world.member().id, Role.MEMBER)

    def run(count: int, tag: str) -> list[float]:
        latencies = []
        for i in range(count):
            # Distinct prompts (the embedding cache never answers) made of known words.
            prompt = (f"{prompts[i % len(prompts)].prompt}, {tag} {STYLES[i % len(STYLES)]} "
                      f"{STYLES[i // len(STYLES) % len(STYLES)]} shot")
            started = time.perf_counter()
            app.evaluate_gate(requester, prompt, (), 8)
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies

    run(20, "first")
    on = run(decisions, "then")
    app.semantic_matcher = NotConfiguredSemanticMatcher()
    off = run(decisions, "later")
    container.close()
    tmp.cleanup()
    model = []
    for i in range(decisions):
        prompt = (f"{prompts[i % len(prompts)].prompt}, again {STYLES[i % len(STYLES)]} "
                  f"{STYLES[i // len(STYLES) % len(STYLES)]} shot")
        started = time.perf_counter()
        matcher.embedder.encode([prompt])
        model.append((time.perf_counter() - started) * 1000)
    return (percentile(on, 50), percentile(on, 99), percentile(off, 50), percentile(off, 99),
            percentile(model, 50), percentile(model, 99))


if __name__ == "__main__":
    main()
