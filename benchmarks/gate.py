"""The pre-generation gate: decisions per second and latency for a prompt naming two cameos
and one protected work, against 100,000 registered works with 5 aliases each, beside a
naive scan that tries one regular expression per alias.

    python -m benchmarks.gate [--works 100000] [--decisions 3000] [--store memory|sqlite]
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from pathlib import Path
from uuid import UUID

from adapters.bootstrap import bootstrap, load_alias_index
from adapters.settings import Settings
from benchmarks._common import mean, percentile, table
from domain.actors import Actor, Role
from domain.grant import Grant, GrantTerms
from domain.work import Work
from tests.fakes import World

SYLLABLES = ["ka", "zu", "mi", "ro", "tan", "vel", "qui", "dor", "bex", "lio", "pha", "nor",
             "gri", "sol", "xan", "tey", "mur", "fen", "o", "yl"]


def names(rng: random.Random, count: int) -> list[str]:
    seen: set[str] = set()
    out = []
    while len(out) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4)))
        if rng.random() < 0.3:
            word += " " + "".join(rng.choice(SYLLABLES) for _ in range(2))
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--aliases", type=int, default=5)
    parser.add_argument("--decisions", type=int, default=3000)
    parser.add_argument("--naive-runs", type=int, default=5)
    parser.add_argument("--store", choices=["memory", "sqlite"], default="memory")
    args = parser.parse_args()
    rng = random.Random(7)
    tmp = tempfile.TemporaryDirectory()
    container = bootstrap(Settings(store=args.store, data_dir=Path(tmp.name)))
    app = container.app
    world = World(app)
    holder = world.rights_holder()
    holder_id = UUID(holder.id)

    started = time.perf_counter()
    all_names = names(rng, args.works * args.aliases)
    works = []
    for i in range(args.works):
        aliases = tuple(all_names[i * args.aliases:(i + 1) * args.aliases])
        works.append(Work.register(holder, holder_id, aliases[0].title(), "character",
                                   aliases[1:]))
    for i in range(0, len(works), 2000):
        app.commit(*works[i:i + 2000])
    target = works[len(works) // 2]
    grant = Grant.issue(holder, target.id, holder_id, GrantTerms(uses=("generate",)))
    target.link_grant(holder, grant.id)
    app.commit(grant, target)
    stored = time.perf_counter() - started
    started = time.perf_counter()
    load_alias_index(app, app.alias_index)
    indexed = time.perf_counter() - started

    owner, friend = world.member(cameo="mutuals"), world.member(cameo="mutuals")
    world.mutuals(owner, friend)
    alias = target.aliases[2]
    prompt = (f"My friend and I walk along a windy beach at sunset while {alias} waves at "
              "the camera, seagulls circle overhead, warm light, handheld shot, slow motion, "
              "the waves crash and we laugh")
    cameos = (UUID(owner.id), UUID(friend.id))
    requester = Actor(friend.id, Role.MEMBER)

    decision = app.evaluate_gate(requester, prompt, cameos, 8)
    assert decision.outcome == "allow", decision.rule_codes
    assert any(w["work"] == str(target.id) for r in decision.trace()
               if r["code"] == "WORK-LICENSED" for w in r["evidence"]["works"])
    for _ in range(200):  # warm caches
        app.evaluate_gate(requester, prompt, cameos, 8)
    latencies = []
    for _ in range(args.decisions):
        t0 = time.perf_counter()
        app.evaluate_gate(requester, prompt, cameos, 8)
        latencies.append((time.perf_counter() - t0) * 1000)

    # The baseline only finds aliases (no aggregates, no rules): one compiled regex per
    # alias, word-bounded and case-insensitive, tried against the prompt.
    patterns = [re.compile(r"\b" + re.escape(a) + r"\b", re.IGNORECASE)
                for w in works for a in w.aliases]
    naive = []
    for _ in range(args.naive_runs):
        t0 = time.perf_counter()
        found = [p.pattern for p in patterns if p.search(prompt)]
        naive.append((time.perf_counter() - t0) * 1000)
    assert found, "the naive scan must find the alias too"

    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    naive_p50 = percentile(naive, 50)
    print(f"{args.works:,} works x {args.aliases} aliases ({len(patterns):,} aliases), "
          f"store={args.store}; stored in {stored:.1f}s, alias index built in {indexed:.1f}s")
    print(table(["what", "decisions/s", "p50 ms", "p99 ms", "vs naive"], [
        ("gate: 10 aggregate reads, alias index, categories, 8 rules",
         1000 / mean(latencies), p50, p99, naive_p50 / p50),
        ("naive regex scan per alias (aliases only)", 1000 / mean(naive), naive_p50,
         percentile(naive, 99), 1.0),
    ]))
    print(f"RESULT p50_ms={p50:.3f} p99_ms={p99:.3f} decisions_per_s={1000 / mean(latencies):.0f}"
          f" ratio_vs_naive={naive_p50 / p50:.0f}")
    container.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
