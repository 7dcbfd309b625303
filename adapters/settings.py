"""Settings, read from the environment once at start (CONSENTRY_*)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

STORES = ("memory", "sqlite", "postgres")
QUEUES = ("inprocess", "arq")
PROMPT_MODELS = ("embedded", "keywords")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class Settings:
    store: str = "sqlite"  # memory | sqlite | postgres
    data_dir: Path = Path("var")
    pg_dsn: str = ""
    pg_schema: str = ""
    redis_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    processes: bool = True  # run the revocation process and job dispatcher in this process
    queue: str = "inprocess"  # inprocess (jobs run in the API process) | arq (Redis workers)
    queue_name: str = "consentry:jobs"  # the arq queue the API and its workers share
    clip_model: str = "ViT-B-32"  # open_clip architecture of the checkpoint below
    clip_checkpoint: str = ""  # local open_clip checkpoint file; empty: not configured
    # A diffusers text-to-video pipeline's local directory; empty: the composite generator
    generator_model_dir: str = ""
    # Provenance: the watermark's secret key (empty: generated into data_dir on first
    # start) and the C2PA signing chain (empty: an untrusted development chain).
    watermark_key: str = field(default="", repr=False)
    c2pa_chain: str = ""
    c2pa_key: str = ""
    c2pa_trust_anchors: str = ""
    # Who provides the AI system, as the C2PA manifests disclose it.
    provider: str = "Consentry"
    # Blobs: `local` (files under data_dir) or `s3://bucket/optional/prefix` on any
    # S3-compatible endpoint; its credentials come from the AWS chain, never from here.
    blob_store: str = "local"
    s3_endpoint: str = ""
    s3_region: str = ""
    # Invite codes a member may issue in all, per tier ("free=5,pro=25"); a tier left out
    # keeps its default (domain/member.py).
    invite_caps: dict[str, int] = field(default_factory=dict)
    # Addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto to believe
    # (the client address rate limits key on); empty: none, the peer is the client.
    trusted_proxies: tuple[str, ...] = ()
    # Operations (docs/operations.md): /metrics on a port of its own (0: on the API's own
    # port; the worker's needs one), log level and format (json, console, auto: console
    # on a terminal), uvicorn worker processes of `consentry serve`.
    metrics_port: int = 0
    metrics_bind: str = "127.0.0.1"
    log_level: str = "INFO"
    log_format: str = "auto"
    workers: int = 1
    # Webhooks: loopback, private and link-local targets and plain http (tests and local
    # development only), and the retry schedule in seconds (empty: the default, ~27 h).
    webhooks_allow_private: bool = False
    webhook_retry_schedule: tuple[float, ...] = ()
    webhook_timeout: float = 10.0  # seconds one attempt may take
    # How prompts are read beside the alias index: `embedded` (MiniLM from its pinned
    # wheel: the semantic work matcher, the cameo-instruction checker and the category
    # classifier) or `keywords` (the keyword categories; the matcher and the checker are
    # not configured, which the gate records and answers with review where it must).
    prompt_models: str = "embedded"
    # Public takedown requests (docs/takedowns.md): hours from filing to the deadline (the
    # law's 48 at most), hours before it that the case escalates, and the proof of work's
    # PBKDF2 rounds per try (about 256 tries).
    takedown_deadline_hours: float = 48.0
    takedown_escalate_hours: float = 12.0
    takedown_pow_cost: int = 5000
    # Demonstrations only (`consentry demo`): the generator misbehaves on request, pasting
    # a face nobody asked for into a render whose prompt holds "(leak)" (SPEC journey 3).
    demo_leak: bool = False

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
            queue=env.get("CONSENTRY_QUEUE", "inprocess"),
            queue_name=env.get("CONSENTRY_QUEUE_NAME", "consentry:jobs"),
            clip_model=env.get("CONSENTRY_CLIP_MODEL", "ViT-B-32"),
            clip_checkpoint=env.get("CONSENTRY_CLIP_CHECKPOINT", ""),
            generator_model_dir=env.get("CONSENTRY_GENERATOR_MODEL_DIR", ""),
            watermark_key=env.get("CONSENTRY_WATERMARK_KEY", ""),
            c2pa_chain=env.get("CONSENTRY_C2PA_CHAIN", ""),
            c2pa_key=env.get("CONSENTRY_C2PA_KEY", ""),
            c2pa_trust_anchors=env.get("CONSENTRY_C2PA_TRUST_ANCHORS", ""),
            provider=env.get("CONSENTRY_PROVIDER", "Consentry"),
            blob_store=env.get("CONSENTRY_BLOB_STORE", "local"),
            s3_endpoint=env.get("CONSENTRY_S3_ENDPOINT", ""),
            s3_region=env.get("CONSENTRY_S3_REGION", ""),
            invite_caps=_tier_numbers(env.get("CONSENTRY_INVITE_CAPS", "")),
            trusted_proxies=tuple(p.strip() for p in env.get(
                "CONSENTRY_TRUSTED_PROXIES", "").split(",") if p.strip()),
            metrics_port=int(env.get("CONSENTRY_METRICS_PORT", "0") or 0),
            metrics_bind=env.get("CONSENTRY_METRICS_BIND", "127.0.0.1"),
            log_level=env.get("CONSENTRY_LOG_LEVEL", "INFO"),
            log_format=env.get("CONSENTRY_LOG_FORMAT", "auto"),
            workers=int(env.get("CONSENTRY_WORKERS", "1") or 1),
            webhooks_allow_private=env.get("CONSENTRY_WEBHOOKS_ALLOW_PRIVATE", "0")
            in ("1", "true", "yes"),
            webhook_retry_schedule=tuple(float(x) for x in env.get(
                "CONSENTRY_WEBHOOK_RETRY_SCHEDULE", "").split(",") if x.strip()),
            webhook_timeout=float(env.get("CONSENTRY_WEBHOOK_TIMEOUT", "10")),
            prompt_models=env.get("CONSENTRY_PROMPT_MODELS", "embedded"),
            takedown_deadline_hours=float(env.get("CONSENTRY_TAKEDOWN_DEADLINE_HOURS", "48")),
            takedown_escalate_hours=float(env.get("CONSENTRY_TAKEDOWN_ESCALATE_HOURS", "12")),
            takedown_pow_cost=int(env.get("CONSENTRY_TAKEDOWN_POW_COST", "5000")),
            demo_leak=env.get("CONSENTRY_DEMO_LEAK", "") in ("1", "true", "yes"),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.store not in STORES:
            raise ValueError(f"CONSENTRY_STORE must be one of {', '.join(STORES)}")
        if self.store == "postgres" and not self.pg_dsn:
            raise ValueError("CONSENTRY_STORE=postgres needs CONSENTRY_PG_DSN")
        if self.prompt_models not in PROMPT_MODELS:
            raise ValueError(f"CONSENTRY_PROMPT_MODELS must be one of {', '.join(PROMPT_MODELS)}")
        if self.queue not in QUEUES:
            raise ValueError(f"CONSENTRY_QUEUE must be one of {', '.join(QUEUES)}")
        if self.queue == "arq" and not self.redis_url:
            raise ValueError("CONSENTRY_QUEUE=arq needs CONSENTRY_REDIS_URL")
        if not 0 < self.takedown_deadline_hours <= 48:
            raise ValueError("CONSENTRY_TAKEDOWN_DEADLINE_HOURS must be above 0 and at most "
                             "48 (the TAKE IT DOWN Act's deadline)")
        if not 0 <= self.takedown_escalate_hours < self.takedown_deadline_hours:
            raise ValueError("CONSENTRY_TAKEDOWN_ESCALATE_HOURS must be below the deadline")
        if self.takedown_pow_cost < 1:
            raise ValueError("CONSENTRY_TAKEDOWN_POW_COST must be at least 1")
        if self.watermark_key and len(self.watermark_key.encode()) < 16:
            raise ValueError("CONSENTRY_WATERMARK_KEY must be at least 16 bytes")
        if bool(self.c2pa_chain) != bool(self.c2pa_key):
            raise ValueError("CONSENTRY_C2PA_CHAIN and CONSENTRY_C2PA_KEY go together")
        self.s3_location()
        if self.log_format not in ("auto", "json", "console"):
            raise ValueError("CONSENTRY_LOG_FORMAT must be auto, json or console")
        if self.workers < 1:
            raise ValueError("CONSENTRY_WORKERS must be at least 1")
        if self.s3_endpoint:
            url = urlparse(self.s3_endpoint)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ValueError("CONSENTRY_S3_ENDPOINT must look like https://host[:port]")

    def s3_location(self) -> tuple[str, str] | None:
        """(bucket, key prefix) when blobs go to S3; None for local files."""
        if self.blob_store == "local":
            return None
        url = urlparse(self.blob_store)
        if url.scheme != "s3" or not _BUCKET.fullmatch(url.netloc) or url.query \
                or url.fragment:
            raise ValueError("CONSENTRY_BLOB_STORE must be `local` or "
                             "`s3://bucket/optional/prefix` (bucket: 3-63 of a-z 0-9 . -)")
        return url.netloc, url.path.strip("/")

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


def _tier_numbers(text: str) -> dict[str, int]:
    caps: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        tier, _, number = part.partition("=")
        if not number.strip().isdigit():
            raise ValueError("CONSENTRY_INVITE_CAPS looks like free=5,pro=25")
        caps[tier.strip()] = int(number)
    return caps


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
