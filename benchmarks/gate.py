"""The pre-generation gate: decisions per second and latency for a prompt naming two cameos
and one protected work, against 100,000 registered works with 5 aliases each, on each event
store (every decision catches the work names up with the log head first), beside a naive
scan that tries one regular expression per alias. `p99_ms` is the worst embedded store
(memory, SQLite), `p99_ms_pg` PostgreSQL (a throwaway server unless CONSENTRY_PG_DSN is set).
The prompt models are off here (`prompt_models="keywords"`): this measures the rules, the
alias automaton and the catch-up (the decision is `review`: with works registered and no
matcher, WORK-LICENSED fails closed); `benchmarks.prompt_screening` measures the gate with
the MiniLM matcher on.

    python -m benchmarks.gate [--works 100000] [--decisions 3000]
                              [--stores memory,sqlite,postgres]
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from uuid import UUID, uuid4

import psycopg

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from benchmarks._common import mean, percentile, postgres_dsn, table
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


def measure(settings: Settings, works_n: int, aliases_n: int, decisions: int,
            rng: random.Random) -> dict[str, object]:
    """Registers the works, then times gate decisions (each catches the work names up with
    the log head first, as every decision does) and the catch-up alone."""
    container = bootstrap(settings)
    app = container.app
    world = World(app)
    holder = world.rights_holder()
    holder_id = UUID(holder.id)
    started = time.perf_counter()
    all_names = names(rng, works_n * aliases_n)
    works = []
    for i in range(works_n):
        aliases = tuple(all_names[i * aliases_n:(i + 1) * aliases_n])
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
    app.work_names.catch_up()  # what a process does at start
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
    # Without the semantic matcher, registered works send every prompt to a person (fail
    # closed); every rule still runs in full, which is what is timed.
    assert decision.outcome == "review" and decision.rule_codes == ("WORK-LICENSED",), \
        decision.rule_codes
    assert any(w["work"] == str(target.id) for r in decision.trace()
               if r["code"] == "WORK-LICENSED" for w in r["evidence"]["works"])
    for _ in range(200):  # warm caches
        app.evaluate_gate(requester, prompt, cameos, 8)
    latencies, catch_up = [], []
    for _ in range(decisions):
        t0 = time.perf_counter()
        app.evaluate_gate(requester, prompt, cameos, 8)
        t1 = time.perf_counter()
        app.work_names.catch_up()
        catch_up.append((time.perf_counter() - t1) * 1000)
        latencies.append((t1 - t0) * 1000)
    container.close()
    return {"works": works, "prompt": prompt, "latencies": latencies, "catch_up": catch_up,
            "stored": stored, "indexed": indexed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--aliases", type=int, default=5)
    parser.add_argument("--decisions", type=int, default=3000)
    parser.add_argument("--naive-runs", type=int, default=5)
    parser.add_argument("--stores", default="memory,sqlite,postgres",
                        help="comma-separated: memory, sqlite, postgres")
    args = parser.parse_args()
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        for store in stores:
            if store == "postgres":
                dsn = stack.enter_context(postgres_dsn())
                schema = f"bench_gate_{uuid4().hex[:8]}"
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f'CREATE SCHEMA "{schema}"')
                settings = Settings(store="postgres", pg_dsn=dsn, pg_schema=schema,
                                    data_dir=Path(tmp) / store, prompt_models="keywords")
            else:
                settings = Settings(store=store, data_dir=Path(tmp) / store,
                                    prompt_models="keywords")
            results[store] = measure(settings, args.works, args.aliases, args.decisions,
                                     random.Random(7))
            if store == "postgres":
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    # The baseline only finds aliases (no aggregates, no rules): one compiled regex per
    # alias, word-bounded and case-insensitive, tried against the prompt.
    first = results[stores[0]]
    prompt = str(first["prompt"])
    patterns = [re.compile(r"\b" + re.escape(a) + r"\b", re.IGNORECASE)
                for w in first["works"] for a in w.aliases]  # type: ignore[attr-defined]
    naive = []
    for _ in range(args.naive_runs):
        t0 = time.perf_counter()
        found = [p.pattern for p in patterns if p.search(prompt)]
        naive.append((time.perf_counter() - t0) * 1000)
    assert found, "the naive scan must find the alias too"
    naive_p50 = percentile(naive, 50)

    print(f"{args.works:,} works x {args.aliases} aliases ({len(patterns):,} aliases); "
          "each decision first catches the work names up with the log head")
    rows: list[tuple[object, ...]] = []
    for store, r in results.items():
        lat, cu = r["latencies"], r["catch_up"]
        assert isinstance(lat, list) and isinstance(cu, list)
        rows.append((f"gate on {store} (stored {r['stored']:.0f}s, indexed "
                     f"{r['indexed']:.1f}s)", 1000 / mean(lat), percentile(lat, 50),
                     percentile(lat, 99), naive_p50 / percentile(lat, 50)))
        rows.append((f"  of which the catch-up, log still ({store})", 1000 / mean(cu),
                     percentile(cu, 50), percentile(cu, 99), naive_p50 / percentile(cu, 50)))
    rows.append(("naive regex scan per alias (aliases only)", 1000 / mean(naive), naive_p50,
                 percentile(naive, 99), 1.0))
    print(table(["what", "decisions/s", "p50 ms", "p99 ms", "vs naive"], rows))

    def p99(store: str) -> float:
        lat = results[store]["latencies"]
        assert isinstance(lat, list)
        return percentile(lat, 99)

    embedded = [s for s in stores if s != "postgres"] or stores
    worst = max(embedded, key=p99)
    fields = [f"p99_ms={p99(worst):.3f}", f"worst_store={worst}"]
    if "postgres" in results:
        fields.append(f"p99_ms_pg={p99('postgres'):.3f}")
    lat0 = results[worst]["latencies"]
    assert isinstance(lat0, list)
    fields += [f"p50_ms={percentile(lat0, 50):.3f}", f"decisions_per_s={1000 / mean(lat0):.0f}",
               f"ratio_vs_naive={naive_p50 / percentile(lat0, 50):.0f}"]
    print("RESULT " + " ".join(fields))


if __name__ == "__main__":
    main()
