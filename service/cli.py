"""`bone-health-cds`: serve the API, run workers, dispatch and scan, print the rule reference."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from importlib import metadata
from types import FrameType
from typing import Any

from service import _logging
from service.settings import ConfigurationError, Settings, get_settings

log = logging.getLogger("bone_health_cds.cli")

_SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Shutdown(BaseException):
    """SIGTERM or SIGINT reached ``serve``: unwind to the cleanup that stops what it started."""


def _raise_shutdown(signum: int, _: FrameType | None) -> None:
    raise _Shutdown(signum)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    stop_workers: Callable[[], None] | None = None
    processes: int = args.api_processes or default_api_processes(settings)
    if processes > 1 and settings.auth_enabled and settings.replay_cache_url is None:
        log.warning(
            "%d API processes without a shared JWT replay cache (BHCDS_REDIS_URL): a replayed token is "
            "refused only by the process that saw it first",
            processes,
        )
    # uvicorn handles SIGTERM/SIGINT while it runs, restores these handlers and re-raises the signal
    # once it has shut down: the re-raised signal lands here, so the embedded worker and beat are
    # stopped instead of the process dying with them still running.
    previous = {sig: signal.signal(sig, _raise_shutdown) for sig in _SHUTDOWN_SIGNALS}
    try:
        if settings.embedded and not args.no_embedded_worker:
            # embedded all-in-one: the worker and beat run beside the API, on the SQLite broker
            from service.reminders.runner import start_embedded

            stop_workers = start_embedded(settings)
        # Several API processes use every core (the hook path is CPU-bound); each imports and builds its
        # own app, so this supervising process does not load the application (about 100 MiB) at all.
        app: object = "service.cli:api_process_app"
        if processes == 1:
            from service.app import create_app

            app = GcTuned(create_app(settings), settings)
        uvicorn.run(
            app,  # type: ignore[arg-type]
            factory=processes > 1,
            workers=processes,
            host=args.host,
            port=args.port,
            log_config=None,
            timeout_graceful_shutdown=10,
        )
    except _Shutdown:
        pass  # a signal outside uvicorn's run (while starting): stop all the same
    finally:
        for sig in _SHUTDOWN_SIGNALS:  # a second signal must not interrupt the stop below
            signal.signal(sig, signal.SIG_IGN)
        if stop_workers is not None:
            stop_workers()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def api_process_app() -> object:
    """The app of one API process when `serve --api-processes N` runs several (uvicorn's factory)."""
    from service.app import create_app

    settings = get_settings()
    _logging.configure(settings.log_level)
    return GcTuned(create_app(settings), settings)


_Message = MutableMapping[str, Any]
_Asgi = Callable[
    [_Message, Callable[[], Awaitable[_Message]], Callable[[_Message], Awaitable[None]]], Awaitable[None]
]


class GcTuned:
    """An API process's app with its garbage collection tuned (BHCDS_GC_*).

    A hook call allocates tens of thousands of objects; the collector's full collections walk every
    object the process holds, most of which (modules, FHIR models, value sets, memos) live as long as
    the process. Freezing them (``gc.freeze``) once the app has started, and again once the first
    calls have filled the memos, takes them out of those walks: docs/performance.md measures it.
    """

    def __init__(self, app: _Asgi, settings: Settings) -> None:
        self.app = app
        self.freeze = settings.gc_freeze
        self.calls_left = settings.gc_freeze_after_calls if settings.gc_freeze else 0
        self.threshold = settings.gc_threshold

    async def __call__(
        self,
        scope: _Message,
        receive: Callable[[], Awaitable[_Message]],
        send: Callable[[_Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":

            async def started(message: _Message) -> None:
                if message["type"] == "lifespan.startup.complete":
                    self._started()
                await send(message)

            await self.app(scope, receive, started)
            return
        await self.app(scope, receive, send)
        if self.calls_left and scope["type"] == "http":
            self.calls_left -= 1
            if not self.calls_left:
                _freeze()  # after this call's answer went out

    def _started(self) -> None:
        gc.set_threshold(self.threshold, *gc.get_threshold()[1:])
        if self.freeze:
            _freeze()


def _freeze() -> None:
    gc.collect()  # garbage frozen would never be freed
    gc.freeze()


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


def _listen(args: argparse.Namespace) -> int:
    from service.listener import listen

    listen(args.host, args.port)
    return 0


def default_api_processes(settings: Settings) -> int:
    """One API process per core, but only one while auth is on and there is no shared JWT replay cache:
    each process would otherwise keep its own, and a replayed token could pass at another process."""
    if settings.auth_enabled and settings.replay_cache_url is None:
        return 1
    return cores()


def cores() -> int:
    """The cores this process may run on (its CPU affinity: a container's cpuset, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform
        return os.cpu_count() or 1


def version() -> str:
    try:
        return metadata.version("bone-health-cds")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, description: str
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name, help=summary, description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bone-health-cds",
        description=__doc__,
        epilog="Settings come from BHCDS_* environment variables (see the README's configuration table).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _command(
        sub,
        "serve",
        "run the CDS Hooks API (embedded: with a worker and beat)",
        "Serve the CDS Hooks API. With no BHCDS_BROKER_URL (the embedded mode) it also runs a reminder "
        "worker and beat as child processes; SIGTERM or SIGINT stops all of them.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface the API listens on")
    serve.add_argument("--port", type=int, default=8080, help="port the API listens on")
    serve.add_argument(
        "--api-processes",
        type=int,
        default=None,
        metavar="N",
        help="API server processes, not Celery workers; none given: one per core, or 1 with auth on "
        "and no shared replay cache",
    )
    serve.add_argument(
        "--no-embedded-worker",
        action="store_true",
        help="API only: no reminder worker and beat even in the embedded mode",
    )
    # the former names, kept so existing scripts keep working; hidden from the help
    serve.add_argument("--workers", dest="api_processes", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--no-workers", dest="no_embedded_worker", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(func=_serve)

    worker = _command(
        sub,
        "worker",
        "run a Celery worker that delivers reminders",
        "Run a Celery worker on BHCDS_BROKER_URL: it delivers due reminders and runs the scans beat triggers.",
    )
    worker.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="worker processes; None: Celery's default, the core count",
    )
    worker.set_defaults(func=_worker)

    _command(
        sub,
        "beat",
        "run Celery beat (dispatcher and scan schedule)",
        "Run Celery beat: the timers of the dispatcher, the panel scan and the audit pruning. Run exactly "
        "one. Its schedule file is BHCDS_BEAT_SCHEDULE_PATH.",
    ).set_defaults(func=_beat)
    _command(
        sub,
        "dispatch",
        "one dispatcher pass: enqueue due reminders",
        "Claim the reminders that are due now and enqueue their deliveries once, then exit.",
    ).set_defaults(func=_dispatch)
    scan = _command(
        sub,
        "scan",
        "one panel scan of the FHIR server",
        "Evaluate every patient of BHCDS_FHIR_BASE_URL once (the scan beat runs periodically), then exit.",
    )
    scan.add_argument("--status", action="store_true", help="print the latest scan runs (JSON lines) instead")
    scan.set_defaults(func=_scan)

    rules = _command(
        sub,
        "rules",
        "print the rule reference generated from the code and settings",
        "Print the rule reference (thresholds, intervals, sources) the current settings give.",
    )
    rules.add_argument("--format", choices=["markdown", "json"], default="markdown", help="output format")
    rules.set_defaults(func=_rules)

    listen = _command(
        sub,
        "listen",
        "print the reminders a webhook receives (a local stand-in receiver)",
        "Listen for HTTP POSTs and print each body on stdout: point BHCDS_REMINDER_WEBHOOK_URL at it to "
        "watch reminders arrive. Answers 204.",
    )
    listen.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    listen.add_argument("--port", type=int, default=9000, help="port to listen on")
    listen.set_defaults(func=_listen)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ConfigurationError as error:  # one line naming the variable, never a traceback
        print(f"bone-health-cds: configuration error: {error}", file=sys.stderr)
        return 2
    _logging.configure(settings.log_level)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
