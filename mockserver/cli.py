"""The `mockserver` command line: serve, record, replay, verify, contracts, fuzz."""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from mockserver.latency import LatencyError, check_scale, load_profiles
from mockserver.settings import Settings, SettingsError, load_settings
from mockserver.version import __version__

# Modules that add sub-commands: each exports `register(subparsers, common)`.
COMMAND_MODULES = ("mockserver.recording.commands", "mockserver.fuzzing")


def _flag(parser: argparse.ArgumentParser, *names: str, **kw: Any) -> None:
    if kw.get("action") == "store_true":
        kw["action"] = "store_const"
        kw["const"] = True
    kw.setdefault("default", None)
    parser.add_argument(*names, **kw)


def add_server_flags(parser: argparse.ArgumentParser) -> None:
    """--host and --port, shared by serve, record and replay."""
    _flag(parser, "--host", help="interface to listen on (default 127.0.0.1)")
    _flag(parser, "--port", type=int, help="port to listen on (default 8080)")
    _flag(parser, "--log-level", dest="log_level", help="uvicorn log level (default warning)")


def add_emulator_flags(parser: argparse.ArgumentParser) -> None:
    _flag(parser, "--seed", type=int, help="seed for every generated value (default 0)")
    _flag(parser, "--speed", type=float, help="task clock speed; 0 stops it (default 1)")
    _flag(parser, "--instant", action="store_true", help="tasks finish the moment they are submitted")
    _flag(parser, "--start-time", dest="start_time", type=float, help="unix time the virtual clock starts at")
    _flag(parser, "--api-key", dest="api_key", action="append", help="accepted key (repeatable; default: any)")
    _flag(parser, "--keys", help="JSON file of gateway keys with quota, expiry, models and rate limits")
    _flag(
        parser,
        "--store",
        help="where state lives: memory, sqlite:///PATH or redis://HOST:PORT/DB?prefix=NAME (default memory)",
    )
    _flag(parser, "--stubs", help="folder of *.json content stubs loaded at start and on reset")
    _flag(
        parser,
        "--strict-responses",
        dest="strict_responses",
        action="store_true",
        help="check every answer against its contract",
    )
    _flag(
        parser,
        "--strict-models",
        dest="strict_models",
        action="store_true",
        help="refuse models outside the model list",
    )
    _flag(parser, "--model", dest="models", action="append", help="extra model id to serve (repeatable)")
    _flag(parser, "--notify-hook", dest="notify_hook", help="callback URL for every task (besides per-task hooks)")
    _flag(parser, "--public-url", dest="public_url", help="base URL of the media links handed out")
    _flag(
        parser,
        "--workers",
        type=int,
        help="worker processes; with the memory store they share a private sqlite file, removed at exit",
    )
    _flag(parser, "--max-body-bytes", dest="max_body_bytes", type=int, help="largest request body accepted")
    _flag(parser, "--mj-concurrency", dest="mj_concurrency", type=int, help="Midjourney jobs run at once")
    _flag(parser, "--banned-word", dest="banned_words", action="append", help="word Midjourney refuses (repeatable)")
    _flag(parser, "--mj-queue-size", dest="mj_queue_size", type=int, help="Midjourney jobs that may wait (then 23)")
    _flag(parser, "--callback-retries", dest="callback_retries", type=int, help="attempts per callback transition")
    _flag(parser, "--callback-timeout", dest="callback_timeout", type=float, help="seconds per callback attempt")
    _flag(
        parser,
        "--callback-lease",
        dest="callback_lease",
        type=float,
        help="seconds a replica's callback claim stays exclusive on a shared store before another takes it over"
        " (300, or twice the longest delivery)",
    )
    _flag(parser, "--latency", help="pace model answers: none, realistic or a profile file (default none)")
    _flag(parser, "--latency-scale", dest="latency_scale", type=float, help="multiply every latency delay")
    _flag(
        parser,
        "--callback-allow",
        dest="callback_allow",
        action="append",
        help="HOST or HOST:PORT callbacks may reach (repeatable; default: any but link-local)",
    )
    _flag(
        parser,
        "--control-token",
        dest="control_token",
        help="token /__mock/* requires (Bearer or x-mock-token; also MOCKSERVER_CONTROL_TOKEN)",
    )
    _flag(parser, "--control-max-bytes", dest="control_max_bytes", type=int, help="largest control API body")
    _flag(parser, "--journal-max-bytes", dest="journal_max_bytes", type=int, help="journal bound in bytes")
    _flag(parser, "--max-header-bytes", dest="max_header_bytes", type=int, help="largest request head (431)")
    _flag(parser, "--max-headers", dest="max_headers", type=int, help="most header fields in a request (431)")
    _flag(parser, "--request-timeout", dest="request_timeout", type=float, help="seconds to send a head or body piece")
    _flag(parser, "--keep-alive-timeout", dest="keep_alive_timeout", type=float, help="idle keep-alive seconds")
    _flag(parser, "--shutdown-timeout", dest="shutdown_timeout", type=float, help="seconds a shutdown waits")


def settings_from_args(args: argparse.Namespace) -> Settings:
    fields = {k: v for k, v in vars(args).items() if k in Settings.__dataclass_fields__}
    return load_settings(fields)


def run_server(app_factory: str, settings: Settings) -> int:
    """Serve `app_factory`'s app (see `mockserver.serving`): bound first, built before serving."""
    from mockserver.serving import serve

    return serve(app_factory, settings)


def settings_from_env() -> Settings:
    """The settings `run_server` handed to the app factory and its worker processes."""
    from mockserver.serving import settings_from_env as from_env

    return from_env()


def emulator_app() -> Any:
    """uvicorn factory for `mockserver serve`."""
    from mockserver.app import create_app

    return create_app(settings_from_env())


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    try:  # a profile file is read and checked before anything binds
        load_profiles(settings.latency)
        check_scale(settings.latency_scale)
    except LatencyError as exc:
        print(f"mockserver serve: {exc}", file=sys.stderr)
        return 2
    if settings.keys:  # a bad keys file is one line and exit 2, before anything binds
        from mockserver.gateway.keys import load_keys_file

        load_keys_file(settings.keys)
    return run_server("mockserver.cli:emulator_app", settings)


def cmd_contracts(args: argparse.Namespace) -> int:
    from mockserver.contracts import Contracts, write_index

    contracts = Contracts().compile()
    if args.action == "list":
        for c in sorted(contracts, key=lambda c: (c.path, c.method)):
            print(f"{c.id:40} {c.method:6} {c.path:60} {c.confidence}")
            if args.provenance:  # where each contract comes from, and the behaviours it records
                provenance = c.raw["provenance"]
                for line in (*provenance.get("sources", ()), *provenance.get("notes", ())):
                    print(f"    {line}")
                for alternative in provenance.get("alternatives", ()):
                    print(f"    alternative ({alternative['source']}): {alternative['behaviour']}")
        print(f"{len(contracts)} operations", file=sys.stderr)
    elif args.action == "show":
        if not args.id:
            print("mockserver contracts show: an operation id is required", file=sys.stderr)
            return 2
        if args.id not in contracts.by_id:
            import difflib

            close = difflib.get_close_matches(args.id, list(contracts.by_id), n=3, cutoff=0.6)
            hint = f" (closest: {', '.join(close)})" if close else " (see `mockserver contracts list`)"
            print(f"mockserver contracts show: unknown operation {args.id!r}{hint}", file=sys.stderr)
            return 2
        contract = contracts.get(args.id)
        print(json.dumps(contract.raw, indent=2, ensure_ascii=False))
    elif args.action == "openapi":
        text = json.dumps(contracts.openapi(), indent=2, ensure_ascii=False)
        if args.output:
            try:
                with open(args.output, "w", encoding="utf-8") as fh:
                    fh.write(text + "\n")
            except OSError as exc:
                print(f"mockserver contracts openapi: cannot write -o {args.output} ({exc.strerror})", file=sys.stderr)
                return 2
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            print(text)
    elif args.action == "index":
        print(f"wrote {write_index(contracts)}", file=sys.stderr)
    return 0


_ARGPARSE_TYPES = {"int": "a whole number", "float": "a number"}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors in the house style (`mockserver serve: --port must be ...`)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {_reword(message)}\n")
        raise SystemExit(2)


def _reword(message: str) -> str:
    found = re.match(r"argument ([^:]+): invalid (\w+) value: (.*)$", message)
    if found and found.group(2) in _ARGPARSE_TYPES:
        flag = found.group(1).split("/")[-1]
        return f"{flag} must be {_ARGPARSE_TYPES[found.group(2)]} (got {found.group(3)})"
    found = re.match(r"argument ([^:]+): invalid choice: (.*) \(choose from (.*)\)$", message)
    if found:
        flag = found.group(1).split("/")[-1]
        return f"{flag} must be one of {found.group(3).replace(chr(39), '')} (got {found.group(2)})"
    return message


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mockserver", description="Offline stand-in for the YEScale AI API gateway.")
    parser.add_argument("--version", action="version", version=f"mockserver {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the emulator")
    add_server_flags(serve)
    add_emulator_flags(serve)
    serve.set_defaults(func=cmd_serve)

    contracts = sub.add_parser("contracts", help="list, show or export the contracts")
    contracts.add_argument("action", choices=["list", "show", "openapi", "index"])
    contracts.add_argument("id", nargs="?", help="operation id (for show)")
    contracts.add_argument("-o", "--output", help="file to write (for openapi)")
    contracts.add_argument(
        "--provenance", action="store_true", help="with list: print each contract's sources and notes under it"
    )
    contracts.set_defaults(func=cmd_contracts)

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not exc.name or not name.startswith(exc.name):
                raise
            continue
        register: Callable[..., None] = module.register
        register(sub, add_server_flags=add_server_flags, add_emulator_flags=add_emulator_flags)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from mockserver.serving import ServeError

    try:
        result: int = args.func(args)
    except SettingsError as exc:
        print(f"mockserver {args.command}: {exc}", file=sys.stderr)
        return 2
    except ServeError as exc:
        print(f"mockserver {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return result
