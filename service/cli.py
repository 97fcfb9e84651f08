"""`bone-health-cds`: serve the API, run workers, dispatch and scan, print the rule reference."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from service import _logging
from service.settings import get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    settings = get_settings()
    stop_workers = None
    if settings.embedded and not args.no_workers:
        # embedded all-in-one: the worker and beat run beside the API, on the SQLite broker
        from service.reminders.runner import start_embedded

        stop_workers = start_embedded(settings)
    # Several worker processes use every core (the hook path is CPU-bound); each builds its own app.
    app: object = "service.cli:api_process_app" if args.workers > 1 else create_app(settings)
    try:
        uvicorn.run(
            app,  # type: ignore[arg-type]
            factory=args.workers > 1,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_config=None,
            timeout_graceful_shutdown=10,
        )
    finally:
        if stop_workers is not None:
            stop_workers()
    return 0


def api_process_app() -> object:
    """The app of one API worker process when `serve --workers N` runs several (uvicorn's factory)."""
    from service.app import create_app

    settings = get_settings()
    _logging.configure(settings.log_level)
    return create_app(settings)


def _worker(args: argparse.Namespace) -> int:
    from service.reminders.runner import run_worker

    run_worker(get_settings(), concurrency=args.concurrency)
    return 0


def _beat(_: argparse.Namespace) -> int:
    from service.reminders.runner import run_beat

    run_beat(get_settings())
    return 0


def _dispatch(_: argparse.Namespace) -> int:
    from service.reminders.runner import dispatch_once

    count = dispatch_once(get_settings())
    print(f"enqueued {count} due reminder(s)")
    return 0


def _scan(args: argparse.Namespace) -> int:
    if args.status:
        import json

        from service.persistence import make_engine, session_factory
        from service.reminders.scan import recent_runs

        for run in recent_runs(session_factory(make_engine(get_settings().database_url))):
            print(json.dumps(run))
        return 0
    from service.reminders.runner import scan_once

    count = scan_once(get_settings())
    print(f"evaluated {count} patient(s)")
    return 0


def _rules(args: argparse.Namespace) -> int:
    from service.reference import rule_reference

    sys.stdout.write(rule_reference(get_settings(), args.format))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bone-health-cds", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the CDS Hooks API (embedded: with a worker and beat)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--no-workers", action="store_true", help="API only, even in the embedded mode")
    serve.add_argument("--workers", type=int, default=1, help="API processes (default 1; use the core count)")
    serve.set_defaults(func=_serve)

    worker = sub.add_parser("worker", help="run a Celery worker that delivers reminders")
    worker.add_argument("--concurrency", type=int, default=None)
    worker.set_defaults(func=_worker)

    sub.add_parser("beat", help="run Celery beat (dispatcher and scan schedule)").set_defaults(func=_beat)
    sub.add_parser("dispatch", help="one dispatcher pass: enqueue due reminders").set_defaults(func=_dispatch)
    scan = sub.add_parser("scan", help="one panel scan of the FHIR server")
    scan.add_argument("--status", action="store_true", help="print the latest scan runs (JSON lines) instead")
    scan.set_defaults(func=_scan)

    rules = sub.add_parser("rules", help="print the rule reference generated from the code and settings")
    rules.add_argument("--format", choices=["markdown", "json"], default="markdown")
    rules.set_defaults(func=_rules)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _logging.configure(get_settings().log_level)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
