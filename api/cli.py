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


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = Settings.from_env()
    print(f"Consentry on http://{args.host or settings.host}:{args.port or settings.port} "
          f"(store: {settings.store}, data: {settings.data_dir}); OpenAPI viewer at /schema")
    # uvicorn believes forwarded headers from loopback by default, which would let any local
    # client pick its own address (and rate-limit quota): only configured proxies.
    trusted = ",".join(settings.trusted_proxies)
    uvicorn.run(create_app(), host=args.host or settings.host,
                port=args.port or settings.port, log_level="info",
                proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None)
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
    """Runs the arq worker until SIGINT/SIGTERM (jobs under way are retried elsewhere)."""
    import logging

    settings = Settings.from_env()
    if not settings.redis_url:
        print("error: consentry worker needs CONSENTRY_REDIS_URL", file=sys.stderr)
        return 2
    from adapters.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from adapters.bootstrap import bootstrap

    container = bootstrap(settings)
    try:
        run_worker(container, jobs=args.jobs, burst=args.burst)
    finally:
        container.close()
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
