"""Settings, read from the environment once at start (CONSENTRY_*)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

STORES = ("memory", "sqlite", "postgres")


@dataclass(frozen=True)
class Settings:
    store: str = "sqlite"  # memory | sqlite | postgres
    data_dir: Path = Path("var")
    pg_dsn: str = ""
    pg_schema: str = ""
    redis_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    processes: bool = True  # run the revocation process in this process

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls(
            store=env.get("CONSENTRY_STORE", "sqlite"),
            data_dir=Path(env.get("CONSENTRY_DATA_DIR", "var")),
            pg_dsn=env.get("CONSENTRY_PG_DSN", ""),
            pg_schema=env.get("CONSENTRY_PG_SCHEMA", ""),
            redis_url=env.get("CONSENTRY_REDIS_URL", ""),
            host=env.get("CONSENTRY_HOST", "127.0.0.1"),
            port=int(env.get("CONSENTRY_PORT", "8000")),
            processes=env.get("CONSENTRY_PROCESSES", "1") not in ("0", "false", "no"),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.store not in STORES:
            raise ValueError(f"CONSENTRY_STORE must be one of {', '.join(STORES)}")
        if self.store == "postgres" and not self.pg_dsn:
            raise ValueError("CONSENTRY_STORE=postgres needs CONSENTRY_PG_DSN")

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing library's configuration for the chosen store."""
        env = {"MAPPER_TOPIC": "adapters.event_codec:MsgspecMapper"}
        if self.store == "memory":
            env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
        elif self.store == "sqlite":
            self.data_dir.mkdir(parents=True, exist_ok=True)
            env["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
            env["SQLITE_DBNAME"] = str(self.data_dir / "events.sqlite3")
            # The embedded server is the only writer of its file (see adapters/lock.py), so
            # cached aggregates need no re-reading; the commit path refreshes them.
            env["AGGREGATE_CACHE_MAXSIZE"] = "20000"
            env["AGGREGATE_CACHE_FASTFORWARD"] = "n"
        else:
            env.update(postgres_env(self.pg_dsn, self.pg_schema))
            # Several API processes share the database: a cached aggregate is always
            # fast-forwarded from the store before use, so reads stay strongly consistent.
            env["AGGREGATE_CACHE_MAXSIZE"] = "20000"
            env["AGGREGATE_CACHE_FASTFORWARD"] = "y"
        return env


def postgres_env(dsn: str, schema: str = "") -> dict[str, str]:
    url = urlparse(dsn)
    if url.scheme not in ("postgres", "postgresql") or not url.path.strip("/"):
        raise ValueError("CONSENTRY_PG_DSN must look like postgresql://user@host:port/db")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_MAX_OVERFLOW": "10",
        "CREATE_TABLE": "y",
        "APPLICATION_RECORDER_TOPIC": "adapters.pg_recorder:OneTripPostgresApplicationRecorder",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
    }
    if schema:
        env["POSTGRES_SCHEMA"] = schema
    return env
