"""Webhook deliveries and their attempts, in a SQLite file beside the embedded event store or
in PostgreSQL tables: the delivery process writes a batch's deliveries and its position in
one transaction, so a crash loses none and repeats none."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DDL = (
    "CREATE TABLE IF NOT EXISTS webhook_positions (name TEXT PRIMARY KEY,"
    " position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS webhook_endpoints (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL,"
    " url TEXT NOT NULL, event_types TEXT NOT NULL, enabled BOOLEAN NOT NULL,"
    " disabled_reason TEXT NOT NULL, seq BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS webhook_endpoints_owner ON webhook_endpoints (owner_id, seq)",
    "CREATE TABLE IF NOT EXISTS webhook_deliveries (id TEXT PRIMARY KEY,"
    " message_id TEXT NOT NULL, endpoint_id TEXT NOT NULL, event_type TEXT NOT NULL,"
    " payload TEXT NOT NULL, position BIGINT NOT NULL, committed_at DOUBLE PRECISION NOT NULL,"
    " status TEXT NOT NULL, attempts INT NOT NULL, next_attempt_at DOUBLE PRECISION NOT NULL,"
    " locked_until DOUBLE PRECISION NOT NULL, first_attempt_at DOUBLE PRECISION,"
    " delivered_at DOUBLE PRECISION, last_error TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_due"
    " ON webhook_deliveries (status, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint"
    " ON webhook_deliveries (endpoint_id, position)",
    "CREATE TABLE IF NOT EXISTS webhook_attempts (delivery_id TEXT NOT NULL, attempt INT NOT NULL,"
    " at DOUBLE PRECISION NOT NULL, status_code INT, error TEXT NOT NULL,"
    " duration_ms DOUBLE PRECISION NOT NULL, response TEXT NOT NULL,"
    " PRIMARY KEY (delivery_id, attempt))",
)
PENDING, DELIVERED, FAILED, SKIPPED = "pending", "delivered", "failed", "skipped"
_COLUMNS = ("id, message_id, endpoint_id, event_type, payload, position, committed_at, status,"
            " attempts, next_attempt_at, first_attempt_at, delivered_at, last_error")


@dataclass(frozen=True)
class Delivery:
    id: str  # <message id>:<endpoint id>
    message_id: str  # the webhook-id header: the same for every attempt
    endpoint_id: str
    event_type: str
    payload: str  # the JSON body, exactly as signed
    position: int  # of the event in the log
    committed_at: float
    status: str = PENDING
    attempts: int = 0
    next_attempt_at: float = 0.0
    first_attempt_at: float | None = None
    delivered_at: float | None = None
    last_error: str = ""


@dataclass(frozen=True)
class Attempt:
    delivery_id: str
    attempt: int
    at: float
    status_code: int | None
    error: str
    duration_ms: float
    response: str


class WebhookStore:
    """Synchronous (sqlite3, or psycopg's pool): its callers run it in a thread. Written
    once with `?` placeholders; PostgreSQL gets `%s`."""

    def __init__(self, sqlite_path: Path | None = None, pg_dsn: str = "",
                 pg_schema: str = "") -> None:
        self._lock = threading.Lock()
        self._pool: Any = None
        if pg_dsn:
            from psycopg_pool import ConnectionPool

            options = f"-c search_path={pg_schema}" if pg_schema else ""
            self._pool = ConnectionPool(pg_dsn, min_size=1, max_size=4, open=True,
                                        kwargs={"options": options} if options else {})
        else:
            target = ":memory:" if sqlite_path is None else str(sqlite_path)
            if sqlite_path is not None:
                sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode = WAL")
            # A process crash loses nothing; a power cut can lose the last transactions,
            # and both ways are safe: a delivery's position goes back with it (made again
            # from the log), a lost attempt is sent again (receivers dedupe on webhook-id).
            self._db.execute("PRAGMA synchronous = NORMAL")
        with self._tx() as run:
            for statement in DDL:
                run(statement)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """One transaction; yields `run(sql, params=()) -> cursor`."""
        if self._pool is not None:
            with self._pool.connection() as conn, conn.transaction():
                yield lambda q, p=(): conn.execute(q.replace("?", "%s"), p)
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield lambda q, p=(): self._db.execute(q, p)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _all(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._tx() as run:
            return list(run(query, params).fetchall())

    # -- the producer ------------------------------------------------------------------
    def position(self, name: str) -> int:
        rows = self._all("SELECT position FROM webhook_positions WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else 0

    def record(self, name: str, position: int, endpoints: Sequence[dict[str, Any]],
               deliveries: Sequence[Delivery], replays: Sequence[tuple[str, str, float]]
               ) -> None:
        """Endpoint rows, new deliveries, replays (delivery id, owner endpoint, when) and the
        position, in one transaction."""
        with self._tx() as run:
            for e in endpoints:
                run("INSERT INTO webhook_endpoints VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET url = excluded.url,"
                    " event_types = excluded.event_types, enabled = excluded.enabled,"
                    " disabled_reason = excluded.disabled_reason",
                    (e["id"], e["owner_id"], e["url"], json.dumps(list(e["event_types"])),
                     e["enabled"], e["disabled_reason"], e["seq"]))
            for d in deliveries:
                run(f"INSERT INTO webhook_deliveries ({_COLUMNS}, locked_until)"  # noqa: S608
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
                    " ON CONFLICT (id) DO NOTHING",
                    (d.id, d.message_id, d.endpoint_id, d.event_type, d.payload, d.position,
                     d.committed_at, d.status, d.attempts, d.next_attempt_at,
                     d.first_attempt_at, d.delivered_at, d.last_error))
            for delivery_id, endpoint_id, at in replays:
                run("UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?,"
                    " locked_until = 0 WHERE id = ? AND endpoint_id = ? AND status <> ?",
                    (PENDING, at, delivery_id, endpoint_id, PENDING))
            run("INSERT INTO webhook_positions VALUES (?, ?) ON CONFLICT (name)"
                " DO UPDATE SET position = excluded.position", (name, position))

    # -- the sender --------------------------------------------------------------------
    def claim(self, now: float, limit: int, lease: float) -> list[Delivery]:
        """Due deliveries nobody holds, leased to the caller for `lease` seconds."""
        skip = " FOR UPDATE SKIP LOCKED" if self._pool is not None else ""
        with self._tx() as run:
            rows = run(f"SELECT {_COLUMNS} FROM webhook_deliveries"  # noqa: S608
                       " WHERE status = ? AND next_attempt_at <= ? AND locked_until <= ?"
                       f" ORDER BY next_attempt_at LIMIT ?{skip}",
                       (PENDING, now, now, limit)).fetchall()
            for row in rows:
                run("UPDATE webhook_deliveries SET locked_until = ? WHERE id = ?",
                    (now + lease, row[0]))
        return [Delivery(*row) for row in rows]

    def next_due(self) -> float | None:
        rows = self._all("SELECT MIN(next_attempt_at) FROM webhook_deliveries"
                         " WHERE status = ?", (PENDING,))
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    def finish(self, delivery: Delivery, attempt: Attempt, status: str, next_at: float) -> None:
        with self._tx() as run:
            run("INSERT INTO webhook_attempts VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (attempt.delivery_id, attempt.attempt, attempt.at, attempt.status_code,
                 attempt.error, attempt.duration_ms, attempt.response))
            run("UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?,"
                " locked_until = 0, first_attempt_at = COALESCE(first_attempt_at, ?),"
                " delivered_at = ?, last_error = ? WHERE id = ?",
                (status, attempt.attempt, next_at, attempt.at,
                 attempt.at if status == DELIVERED else None, attempt.error, delivery.id))

    def skip(self, delivery: Delivery, reason: str) -> None:
        with self._tx() as run:
            run("UPDATE webhook_deliveries SET status = ?, locked_until = 0, last_error = ?"
                " WHERE id = ?", (SKIPPED, reason, delivery.id))

    def succeeded_since(self, endpoint_id: str, since: float) -> bool:
        rows = self._all("SELECT 1 FROM webhook_deliveries WHERE endpoint_id = ?"
                         " AND delivered_at >= ? LIMIT 1", (endpoint_id, since))
        return bool(rows)

    def pending(self) -> int:
        return int(self._all("SELECT COUNT(*) FROM webhook_deliveries WHERE status = ?",
                             (PENDING,))[0][0])

    # -- reading (the API) -------------------------------------------------------------
    def endpoints(self, owner_id: str | None, after: int | None, limit: int
                  ) -> list[dict[str, Any]]:
        """Oldest first; an admin (owner None) sees every endpoint."""
        where = "seq > ?"
        params: list[Any] = [after or 0]
        if owner_id is not None:
            where, params = where + " AND owner_id = ?", [*params, owner_id]
        query = ("SELECT id, owner_id, url, event_types, enabled, disabled_reason, seq"  # noqa: S608
                 " FROM webhook_endpoints WHERE " + where + " ORDER BY seq LIMIT ?")
        rows = self._all(query, (*params, limit))
        keys = ("id", "owner_id", "url", "event_types", "enabled", "disabled_reason", "seq")
        found = [dict(zip(keys, row, strict=True)) for row in rows]
        for e in found:
            e["event_types"], e["enabled"] = json.loads(e["event_types"]), bool(e["enabled"])
        return found

    def deliveries(self, endpoint_id: str, before: tuple[int, str] | None, limit: int
                   ) -> list[Delivery]:
        """Newest event first; `before`: the (position, id) of the last one already seen."""
        where = "endpoint_id = ?"
        params: list[Any] = [endpoint_id]
        if before is not None:
            where += " AND (position < ? OR (position = ? AND id > ?))"
            params += [before[0], before[0], before[1]]
        rows = self._all(f"SELECT {_COLUMNS} FROM webhook_deliveries WHERE {where}"  # noqa: S608
                         " ORDER BY position DESC, id LIMIT ?", (*params, limit))
        return [Delivery(*row) for row in rows]

    def delivery(self, delivery_id: str) -> Delivery | None:
        rows = self._all(f"SELECT {_COLUMNS} FROM webhook_deliveries"  # noqa: S608
                         " WHERE id = ?", (delivery_id,))
        return Delivery(*rows[0]) if rows else None

    def attempts(self, delivery_id: str) -> list[Attempt]:
        rows = self._all("SELECT * FROM webhook_attempts WHERE delivery_id = ?"
                         " ORDER BY attempt", (delivery_id,))
        return [Attempt(*row) for row in rows]

    def close(self) -> None:
        """Waits for a transaction under way (a sender's thread outlives its cancelled
        task): closing a SQLite connection in use crashes the process."""
        if self._pool is not None:
            self._pool.close()
        else:
            with self._lock:
                self._db.close()
