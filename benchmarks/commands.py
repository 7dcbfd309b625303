"""Durable commands per second through the application, beside a raw insert-and-commit loop
on the same database in the same run; one writer, then 8 concurrent writers (group commit).

    python -m benchmarks.commands [--commands 600] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from itertools import count
from pathlib import Path

import psycopg
from eventsourcing.application import LRUCache

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from benchmarks._common import postgres_dsn, table
from domain.actors import Actor, Role
from domain.member import Member

ADMIN = Actor("bench-admin", Role.ADMIN)
STATE = (b'{"timestamp":"2026-11-24T12:00:00Z","actor_id":"bench-admin",'
         b'"actor_role":"admin","tier":"pro"}')
WRITERS = 8


def raw_sqlite(path: Path, n: int) -> float:
    """The floor: one row inserted and committed per iteration, same journal settings as
    the event store (WAL, synchronous=FULL)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS raw (id INTEGER PRIMARY KEY, originator_id TEXT,"
                 " version INTEGER, topic TEXT, state BLOB)")
    start = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO raw (originator_id, version, topic, state) VALUES (?,?,?,?)",
                     (uuid.uuid4().hex, i, "domain.member:Member.TierChanged", STATE))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


def raw_postgres(dsn: str, schema: str, n: int) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {schema}.raw (id BIGSERIAL PRIMARY KEY, "
                     "originator_id UUID, version INTEGER, topic TEXT, state BYTEA)")
        start = time.perf_counter()
        for i in range(n):
            with conn.transaction():
                conn.execute(f"INSERT INTO {schema}.raw (originator_id, version, topic, state) "
                             "VALUES (%s,%s,%s,%s)",
                             (uuid.uuid4(), i, "domain.member:Member.TierChanged", STATE))
        return n / (time.perf_counter() - start)


def application_rate(settings: Settings, n: int, writers: int, warm: bool = True
                     ) -> tuple[float, float]:
    """Commands/s for `change_tier` (load a member, append one event, commit), split over
    `writers` threads, each on its own members; returns (rate, commands per transaction).
    `warm`: the members are in the aggregate cache, as in a running server; cold: every
    load reads and decodes the member's events from the store."""
    container = bootstrap(settings)
    app = container.app
    members = []
    for _ in range(n):
        m = Member.register(ADMIN, f"m{uuid.uuid4().hex[:8]}")
        members.append(m)
    for i in range(0, n, 500):  # setup in big transactions; not measured
        app.commit(*members[i:i + 500])
    if not warm and app.repository.cache is not None:
        app.repository.cache = LRUCache(app.repository.cache.maxsize)
    ids = [m.id for m in members]
    chunks = [ids[i::writers] for i in range(writers)]
    batches_before, commands_before = app.committer.batches, app.committer.commands

    def work(chunk: list[uuid.UUID]) -> None:
        for member_id in chunk:
            app.change_tier(ADMIN, member_id, "pro")

    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    batches = app.committer.batches - batches_before
    commands = app.committer.commands - commands_before
    container.close()
    return n / elapsed, commands / max(batches, 1)


def median_of(trials: int, *measures: Callable[[], tuple[float, float]]
              ) -> list[tuple[float, float]]:
    """Runs the measures interleaved `trials` times (so background noise hits all of them
    alike) and keeps each one's median rate."""
    runs: list[list[tuple[float, float]]] = [[] for _ in measures]
    for _ in range(trials):
        for i, measure in enumerate(measures):
            runs[i].append(measure())
    return [sorted(r)[len(r) // 2] for r in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=600)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    n = args.commands
    rows = []
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        fresh = count()

        def sqlite(writers: int, warm: bool = True) -> Callable[[], tuple[float, float]]:
            return lambda: application_rate(
                Settings(store="sqlite", data_dir=Path(tmp) / str(next(fresh))), n, writers,
                warm)

        (raw, _), (cold, _), (one, per_tx1), (many, per_tx8) = median_of(
            args.trials, lambda: (raw_sqlite(Path(tmp) / f"raw{next(fresh)}.sqlite3", n), 1.0),
            sqlite(1, warm=False), sqlite(1), sqlite(WRITERS))
        rows += [("sqlite", "raw insert+commit", 1, raw, 1.0, 1.0),
                 ("sqlite", "application, cold loads", 1, cold, cold / raw, 1.0),
                 ("sqlite", "application", 1, one, one / raw, per_tx1),
                 ("sqlite", "application", WRITERS, many, many / raw, per_tx8)]
        result.update(ratio_vs_raw=one / raw, ratio_vs_raw_cold=cold / raw,
                      concurrent_vs_raw=many / raw)
    if not args.skip_postgres:
        with postgres_dsn() as dsn:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            try:
                pg = Settings(store="postgres", pg_dsn=dsn, pg_schema=schema)
                (raw_pg, _), (one_pg, tx1), (many_pg, tx8) = median_of(
                    args.trials, lambda: (raw_postgres(dsn, schema, n), 1.0),
                    lambda: application_rate(pg, n, 1),
                    lambda: application_rate(pg, n, WRITERS))
            finally:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE")
        rows += [("postgres", "raw insert+commit", 1, raw_pg, 1.0, 1.0),
                 ("postgres", "application", 1, one_pg, one_pg / raw_pg, tx1),
                 ("postgres", "application", WRITERS, many_pg, many_pg / raw_pg, tx8)]
        result.update(ratio_vs_raw_pg=one_pg / raw_pg,
                      concurrent_vs_raw_pg=many_pg / raw_pg)
    print(f"durable commands: {n} per run, change_tier = load member + 1 event + commit "
          f"(cpus={os.cpu_count()})")
    print(table(["store", "what", "writers", "per second", "vs raw", "commands/tx"], rows))
    print("RESULT " + " ".join(f"{k}={v:.3f}" for k, v in result.items()))


if __name__ == "__main__":
    main()
