"""Per-identity data keys, stored apart from the event store: a SQLite file of their own
(embedded) or a PostgreSQL table (production). Destroying a key scrubs it from the files."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from pathlib import Path

from psycopg import sql
from psycopg_pool import ConnectionPool

KEY_BYTES = 32  # AES-256


class SqliteKeyStore:
    """Keys in their own SQLite file, never the event store's.

    Why a separate file: the event log is append-only and copied around (backups, replicas),
    so a key stored beside the ciphertext would survive erasure in every copy.
    `secure_delete` makes SQLite overwrite deleted rows and freed pages with zeros, and the
    rollback journal (not WAL) is removed at each commit, so once `destroy` returns the key's
    bytes are in none of the store's files."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA secure_delete = ON")
        self._db.execute("PRAGMA journal_mode = DELETE")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS identity_keys ("
                         " identity_id TEXT PRIMARY KEY, key BLOB NOT NULL)")
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def temporary(cls) -> SqliteKeyStore:
        """A store in a fresh temporary directory, removed on `close` (for `store=memory`,
        whose events do not outlive the process either)."""
        tmp = tempfile.TemporaryDirectory(prefix="consentry-keys-")
        store = cls(Path(tmp.name) / "keys.sqlite3")
        store._tmp = tmp
        return store

    def create(self, identity_id: str) -> bytes:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO identity_keys VALUES (?, ?)",
                             (identity_id, os.urandom(KEY_BYTES)))
            row = self._db.execute("SELECT key FROM identity_keys WHERE identity_id = ?",
                                   (identity_id,)).fetchone()
        return bytes(row[0])

    def get(self, identity_id: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT key FROM identity_keys WHERE identity_id = ?",
                                   (identity_id,)).fetchone()
        return bytes(row[0]) if row else None

    def destroy(self, identity_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM identity_keys WHERE identity_id = ?", (identity_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self._tmp is not None:
            self._tmp.cleanup()


class PostgresKeyStore:
    """Keys in a PostgreSQL table (psycopg 3, synchronous), in a schema of its own choosing.

    Deleting a row in PostgreSQL only marks it dead; `VACUUM FULL` then rewrites the small
    keys table into a new file and truncates the old one, so the key leaves the table's
    files. Two limits of MVCC remain. A transaction that began before the erasure and is
    still open may read the old row, so `VACUUM FULL` keeps it until that transaction ends:
    call `purge()` again once it has (an erasure job can repeat it a few minutes later).
    And WAL segments and base backups hold the key until they are recycled: keep the key
    store's WAL archive and backup retention short, and apart from the event store's."""

    def __init__(self, dsn: str, schema: str = "public", table: str = "identity_keys",
                 pool_size: int = 4) -> None:
        self._table = sql.Identifier(schema, table)
        # A small pool rather than one connection: several worker threads may seal or open
        # templates at once, and the pool replaces connections the server dropped.
        self._pool = ConnectionPool(dsn, min_size=1, max_size=pool_size, open=True,
                                    kwargs={"autocommit": True})
        with self._pool.connection() as conn:
            conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ("
                                 " identity_id TEXT PRIMARY KEY, key BYTEA NOT NULL)")
                         .format(self._table))

    def create(self, identity_id: str) -> bytes:
        with self._pool.connection() as conn:
            conn.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s) ON CONFLICT DO NOTHING")
                         .format(self._table), (identity_id, os.urandom(KEY_BYTES)))
            row = conn.execute(sql.SQL("SELECT key FROM {} WHERE identity_id = %s")
                               .format(self._table), (identity_id,)).fetchone()
        if row is None:  # destroyed by another process between the two statements
            raise KeyError(identity_id)
        return bytes(row[0])

    def get(self, identity_id: str) -> bytes | None:
        with self._pool.connection() as conn:
            row = conn.execute(sql.SQL("SELECT key FROM {} WHERE identity_id = %s")
                               .format(self._table), (identity_id,)).fetchone()
        return bytes(row[0]) if row else None

    def destroy(self, identity_id: str) -> None:
        with self._pool.connection() as conn:
            deleted = conn.execute(sql.SQL("DELETE FROM {} WHERE identity_id = %s")
                                   .format(self._table), (identity_id,)).rowcount
        if deleted:
            self.purge()

    def purge(self) -> None:
        """Rewrite the table without its dead rows (outside a transaction, as VACUUM
        requires); rows that an older open transaction may still read stay until then."""
        with self._pool.connection() as conn:
            conn.execute(sql.SQL("VACUUM FULL {}").format(self._table))

    def close(self) -> None:
        self._pool.close()
