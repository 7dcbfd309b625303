"""`consentry` command line: serve the API, and the admin tasks that must work before any
admin exists (the first admin credential, onboarding a rights holder). The application is
imported inside the commands: the media intake's sandbox processes import this module
again, and must stay light."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from adapters.settings import Settings
from domain.actors import SYSTEM
from domain.errors import DomainError

WORKER_METRICS_PORT = 9464  # the port OpenTelemetry's Prometheus exporter uses too


def _serve(args: argparse.Namespace) -> int:
    """The API under uvicorn, with `--workers` processes sharing one metrics directory;
    /metrics on a port of its own (served by this supervising process) when configured."""
    import uvicorn

    from adapters.metrics_dir import prepare_multiprocess_dir, remove_own_dir

    settings = Settings.from_env()
    metrics_dir = prepare_multiprocess_dir("api")
    from adapters import metrics
    from adapters.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    workers = args.workers or settings.workers
    host, port = args.host or settings.host, args.port or settings.port
    if settings.metrics_port:
        metrics.serve(settings.metrics_port, settings.metrics_bind)
    print(f"Consentry on http://{host}:{port} (store: {settings.store}, data: "
          f"{settings.data_dir}, {workers} worker(s)); OpenAPI viewer at /schema; metrics at "
          + (f"http://{settings.metrics_bind}:{settings.metrics_port}/metrics"
             if settings.metrics_port else "/metrics"))
    # uvicorn believes forwarded headers from loopback by default, which would let any local
    # client pick its own address (and rate-limit quota): only configured proxies.
    trusted = ",".join(settings.trusted_proxies)
    try:
        uvicorn.run("api.app:serve_app", factory=True, host=host, port=port,
                    workers=workers, log_config=None, access_log=False,
                    proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None)
    finally:
        remove_own_dir(metrics_dir)
    return 0


def _admin(args: argparse.Namespace) -> int:
    from adapters.bootstrap import bootstrap

    container = bootstrap()
    try:
        app = container.app
        if args.admin_command == "create-admin":
            result = app.create_first_admin(args.name)
        else:
            result = app.onboard_rights_holder(SYSTEM, args.name, args.proof)
    except DomainError as error:
        print(f"error: {error.code}: {error.detail}", file=sys.stderr)
        return 2
    finally:
        container.close()
    print(json.dumps(result, indent=2))
    print("Keep the secret: it is shown once and stored only as a hash.", file=sys.stderr)
    return 0


def _projections(args: argparse.Namespace) -> int:
    from api.rebuild import run

    positions = run(args.view or None)
    for name, position in positions.items():
        print(f"{name}: rebuilt up to event {position}")
    return 0


def _worker(args: argparse.Namespace) -> int:
    """Runs the arq worker until SIGINT/SIGTERM (jobs under way are retried elsewhere), with
    its /metrics on a port of its own."""
    settings = Settings.from_env()
    if not settings.redis_url:
        print("error: consentry worker needs CONSENTRY_REDIS_URL", file=sys.stderr)
        return 2
    from adapters.metrics_dir import prepare_multiprocess_dir, remove_own_dir

    metrics_dir = prepare_multiprocess_dir("worker")
    from adapters import metrics
    from adapters.logging_setup import configure_logging, remember_secret
    from adapters.metrics_sampler import sample_in_thread
    from adapters.tracing import configure_tracing
    from adapters.worker import run_worker

    configure_logging(settings.log_level, settings.log_format)
    remember_secret(settings.watermark_key)
    configure_tracing("consentry-worker")
    port = args.metrics_port if args.metrics_port is not None else (
        settings.metrics_port or WORKER_METRICS_PORT)
    if port:
        metrics.serve(port, settings.metrics_bind)
    from adapters.bootstrap import bootstrap

    container = bootstrap(settings)
    stop = sample_in_thread(container)
    try:
        run_worker(container, jobs=args.jobs, burst=args.burst)
    finally:
        stop.set()
        container.close()
        metrics.mark_process_dead()
        remove_own_dir(metrics_dir)
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Against a running server: an admin key from --admin-key or CONSENTRY_ADMIN_KEY, else
    a new admin made here, on the same store (as `admin create-admin` does)."""
    import os
    from pathlib import Path

    from api.demo import DemoError, run
    from api.demo_media import SpeechUnavailableError

    settings = Settings.from_env()
    url = args.url or f"http://{settings.host}:{settings.port}"
    saved = Path(settings.data_dir) / "demo.json"
    if saved.exists() and not args.again:
        print(f"The demo already ran on this server: its console URL and keys are in {saved}. "
              "Run it again with --again (its members show the same faces, so their "
              "verifications will be held as possible duplicates).", file=sys.stderr)
        return 2
    admin_key = args.admin_key or os.environ.get("CONSENTRY_ADMIN_KEY", "")
    if not admin_key:
        from adapters.bootstrap import bootstrap

        container = bootstrap(settings)
        try:
            admin_key = container.app.create_first_admin("demo admin")["secret"]
        finally:
            container.close()
    try:
        run(url, admin_key, wait_seconds=args.wait, save_to=saved)
    except (DemoError, SpeechUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="consentry", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API (embedded default: SQLite)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="uvicorn worker processes "
                       "(CONSENTRY_WORKERS, default 1; several need CONSENTRY_STORE=postgres)")
    serve.set_defaults(run=_serve)
    admin = sub.add_parser("admin", help="administration without an API credential")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_sub.add_parser("create-admin", help="create an admin and print its key")
    create.add_argument("--name", required=True)
    onboard = admin_sub.add_parser("onboard-rights-holder",
                                   help="onboard a rights holder and print its first key")
    onboard.add_argument("--name", required=True)
    onboard.add_argument("--proof", required=True, help="proof of ownership (reference)")
    admin.set_defaults(run=_admin)
    projections = sub.add_parser("projections", help="read models")
    projections_sub = projections.add_subparsers(dest="projections_command", required=True)
    rebuild = projections_sub.add_parser("rebuild", help="replay the log into the read models")
    rebuild.add_argument("--view", action="append", help="only this view (repeatable)")
    projections.set_defaults(run=_projections)
    worker = sub.add_parser("worker", help="run jobs from Redis (CONSENTRY_REDIS_URL)")
    worker.add_argument("--jobs", type=int, default=1, help="jobs at a time (default 1)")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.add_argument("--metrics-port", type=int, help="port of its /metrics (default "
                        f"CONSENTRY_METRICS_PORT, else {WORKER_METRICS_PORT}; 0: none)")
    worker.set_defaults(run=_worker)
    demo = sub.add_parser("demo", help="populate a running server with a demo journey and "
                                       "a reviewer for the console")
    demo.add_argument("--url", help="the server (default: the configured host and port)")
    demo.add_argument("--admin-key", help="an admin's key (default: CONSENTRY_ADMIN_KEY, "
                                          "else a new admin made on the local store)")
    demo.add_argument("--wait", type=float, default=300.0,
                      help="seconds to wait for the worker at each step (default 300)")
    demo.add_argument("--again", action="store_true", help="run even if it ran before")
    demo.set_defaults(run=_demo)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
