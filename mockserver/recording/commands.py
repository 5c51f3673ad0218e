"""`mockserver record`, `mockserver replay` and `mockserver verify` (hooked in by `mockserver.cli`)."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mockserver.settings import Settings

AddFlags = Callable[[argparse.ArgumentParser], None]


def _flag(parser: argparse.ArgumentParser, *names: str, **kw: Any) -> None:
    kw.setdefault("default", None)
    parser.add_argument(*names, **kw)


def _matching_flags(parser: argparse.ArgumentParser) -> None:
    _flag(parser, "--cassettes", help="cassette folder (every *.yaml below it) or one .yaml file (default cassettes)")
    _flag(
        parser,
        "--match-on",
        dest="match_on",
        help="comma-separated matchers (default method,path,query,body; also scheme,host,port,uri,raw_body,headers)",
    )
    _flag(parser, "--ignore-body-field", dest="ignore_body_fields", action="append", help="JSON path never matched on")
    _flag(parser, "--redact-header", dest="redact_headers", action="append", help="extra header to redact")
    _flag(parser, "--redact-json-path", dest="redact_json_paths", action="append", help="extra JSON path to redact")
    _flag(parser, "--redact-pattern", dest="redact_patterns", action="append", help="extra regex to redact")


def register(subparsers: Any, *, add_server_flags: AddFlags, add_emulator_flags: AddFlags) -> None:
    """Add the record, replay and verify sub-commands."""
    record = subparsers.add_parser("record", help="recording proxy: forward to the upstream and write cassettes")
    add_server_flags(record)
    _flag(record, "--upstream", help="base URL to forward to (default https://api.yescale.io)")
    _flag(
        record,
        "--record-mode",
        dest="record_mode",
        choices=["once", "new_episodes", "all", "none"],
        help="VCR record mode (default all: record everything afresh)",
    )
    _flag(record, "--public-url", dest="public_url", help="URL the upstream can reach this proxy at (callback capture)")
    _flag(record, "--fallback", choices=["error", "emulate"], help="what answers a miss in none/once mode")
    _flag(
        record,
        "--no-media",
        dest="media",
        action="store_const",
        const=False,
        help="do not fetch and store the media answers link to (replay then cannot serve it)",
    )
    _flag(record, "--media-max-bytes", dest="media_max_bytes", type=int, help="largest media file stored (50 MB)")
    _flag(record, "--media-max-total", dest="media_max_total", type=int, help="media stored per cassette (1 GB)")
    _matching_flags(record)
    record.set_defaults(func=cmd_record)

    replay = subparsers.add_parser("replay", help="serve recorded interactions offline")
    add_server_flags(replay)
    add_emulator_flags(replay)
    _flag(replay, "--fallback", choices=["error", "emulate"], help="what answers a miss (default error)")
    _flag(
        replay,
        "--replay-speed",
        dest="replay_speed",
        type=float,
        help="replay the recorded timing: 1 as recorded, 2 twice as fast, 0 at once (default 0)",
    )
    _flag(
        replay,
        "--replay-timing",
        dest="replay_timing",
        help="none (at once, the default), recorded (the recording's own timing) or scale:X (delays × X)",
    )
    _matching_flags(replay)
    replay.set_defaults(func=cmd_replay)

    verify = subparsers.add_parser("verify", help="check cassettes against the contracts; exit 1 on drift")
    verify.add_argument("paths", nargs="+", help="cassette files or folders")
    verify.add_argument("--junit-xml", dest="junit_xml", help="also write a JUnit XML report to this file")
    verify.add_argument("--contracts", dest="contracts_root", help="contracts folder (default: the bundled ones)")
    verify.add_argument("--quiet", "-q", action="store_true", help="print only drift and the result line")
    verify.set_defaults(func=cmd_verify)


def _settings(args: argparse.Namespace) -> Settings:
    from mockserver.cli import settings_from_args

    return settings_from_args(args)


def _check(settings: Settings) -> None:
    """Fail early (exit 2) on settings the apps would refuse."""
    from mockserver.recording.filters import RedactionRules
    from mockserver.recording.matchers import MatchOptions, check_match_on
    from mockserver.recording.modes import RecordMode
    from mockserver.recording.replay import replay_speed

    check_match_on(settings.match_on)
    RecordMode.parse(settings.record_mode)
    RedactionRules.from_settings(settings)
    MatchOptions.build(settings.ignore_body_fields)
    if settings.fallback not in ("error", "emulate"):
        raise ValueError(f"fallback {settings.fallback!r} is not one of error, emulate")
    replay_speed(settings)


def cmd_record(args: argparse.Namespace) -> int:
    from mockserver.cli import run_server

    settings = _settings(args)
    if settings.record_mode == "none":
        # `none` never records; asking the recorder for it means the default, not "record nothing".
        settings = settings.replace(record_mode="all") if args.record_mode is None else settings
    try:
        _check(settings)
    except ValueError as exc:
        print(f"mockserver record: {exc}", file=sys.stderr)
        return 2
    settings = settings.replace(workers=1)  # one writer per cassette
    from mockserver.recording.server import recording_path

    print(
        f"recording {settings.upstream} into {recording_path(settings.cassettes)} (mode {settings.record_mode})",
        file=sys.stderr,
    )
    return run_server("mockserver.recording.commands:proxy_app", settings)


def cmd_replay(args: argparse.Namespace) -> int:
    from mockserver.cli import run_server

    settings = _settings(args)
    try:
        _check(settings)
    except ValueError as exc:
        print(f"mockserver replay: {exc}", file=sys.stderr)
        return 2
    if not Path(settings.cassettes).exists():
        print(f"mockserver replay: {settings.cassettes} does not exist", file=sys.stderr)
        return 2
    return run_server("mockserver.recording.commands:replay_app", settings)


def cmd_verify(args: argparse.Namespace) -> int:
    from mockserver.contracts import ContractError, load_contracts
    from mockserver.recording.verify import verify_paths

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"mockserver verify: {missing[0]} does not exist", file=sys.stderr)
        return 2
    if args.contracts_root and not Path(args.contracts_root).is_dir():
        print(f"mockserver verify: --contracts {args.contracts_root} is not a folder", file=sys.stderr)
        return 2
    if args.junit_xml and not Path(args.junit_xml).resolve().parent.is_dir():
        print(f"mockserver verify: --junit-xml {args.junit_xml}: its folder does not exist", file=sys.stderr)
        return 2
    try:
        contracts = load_contracts(args.contracts_root)
    except ContractError as exc:
        print(f"mockserver verify: {exc}", file=sys.stderr)
        return 2
    if args.quiet:
        report = verify_paths(args.paths, contracts=contracts)
    else:
        from mockserver.recording.progress_report import verify_summary, verify_with_progress

        report = verify_with_progress(args.paths, contracts=contracts)
    text = report.to_text()
    if args.quiet:
        text = "".join(line + "\n" for line in text.splitlines() if not line.startswith(("OK", "NOTE")))
    sys.stdout.write(text)
    if not args.quiet:
        sys.stdout.flush()
        verify_summary(report)
    if args.junit_xml:
        Path(args.junit_xml).write_text(report.to_junit_xml(), encoding="utf-8")
        print(f"wrote {args.junit_xml}", file=sys.stderr)
    if report.errors and not report.operations and not report.uncovered:
        return 2
    return 0 if report.ok else 1


def _long_lived(app: Any) -> Any:
    """Move everything loaded so far out of the garbage collector's scans (a big cassette is millions of
    objects that live as long as the process; scanning them again and again only costs time)."""
    gc.collect()
    gc.freeze()
    return app


def proxy_app() -> Any:
    """uvicorn factory for `mockserver record`."""
    from mockserver.cli import settings_from_env
    from mockserver.recording.progress_report import RecordProgress
    from mockserver.recording.server import create_proxy_app

    app = create_proxy_app(settings_from_env())
    app.observer = RecordProgress()  # a line per request, a summary table at shutdown
    return _long_lived(app)


def replay_app() -> Any:
    """uvicorn factory for `mockserver replay`."""
    from mockserver.cli import settings_from_env
    from mockserver.recording.server import create_replay_app

    return _long_lived(create_replay_app(settings_from_env()))
