"""The recorder: stale temp files removed, interactions appended (not a rewrite per request), a cut-short
append dropped on load, and secrets in multipart fields and in URLs inside JSON redacted."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from mockserver.recording.cassettes import (
    Cassette,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    load_cassette,
    save_cassette,
)
from mockserver.recording.filters import RedactionRules, redact_interaction
from mockserver.recording.persist import END_MARK
from mockserver.recording.proxy import RecordingTarget


def _item(i: int, body: bytes | None = None, ctype: str = "application/json") -> Interaction:
    return Interaction(
        RecordedRequest("POST", f"https://up/v1/x?i={i}", {"content-type": [ctype]}, body or b'{"i": %d}' % i),
        RecordedResponse(200, {"content-type": ["application/json"]}, b'{"ok": %d}' % i),
    )


def test_stale_temp_files_are_removed_when_recording_starts(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(path, Cassette([_item(0)]))
    dead = tmp_path / ".c.yaml.999999999.abc.tmp"  # a pid no process has
    mine = tmp_path / f".c.yaml.{os.getpid()}.def.tmp"  # this process is not writing it either
    other = tmp_path / ".other.yaml.999999999.x.tmp"
    for leftover in (dead, mine, other):
        leftover.write_text("half a cassette")
    RecordingTarget(load_cassette(path))
    assert not dead.exists() and not mine.exists()
    assert other.exists()  # another cassette's file is not ours to remove


def test_interactions_are_appended_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(path, Cassette([_item(i) for i in range(50)]))
    target = RecordingTarget(load_cassette(path))

    async def record() -> None:
        for i in range(50, 60):
            target.append(_item(i))
            await target.persist()

    asyncio.run(record())
    inode = path.stat().st_ino
    asyncio.run(_more(target, 60, 70))
    assert path.stat().st_ino == inode  # appended in place: no temp file renamed over it
    assert target.writer.appends >= 10  # type: ignore[attr-defined]
    assert [i.request.uri for i in load_cassette(path)] == [f"https://up/v1/x?i={i}" for i in range(70)]
    assert not list(tmp_path.glob(".*.tmp"))


async def _more(target: RecordingTarget, start: int, end: int) -> None:
    for i in range(start, end):
        target.append(_item(i))
        await target.persist()


def test_an_append_cut_short_by_a_crash_is_dropped_on_load(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(path, Cassette([_item(0)]))
    target = RecordingTarget(load_cassette(path))
    asyncio.run(_more(target, 1, 4))
    whole = path.read_text()
    assert whole.endswith(END_MARK)
    with path.open("a") as fh:  # what kill -9 in the middle of the next append leaves
        fh.write("- request:\n    method: POST\n    uri: https://up/v1/x?i=4\n    headers:\n      content-ty")
    assert len(load_cassette(path)) == 4


def test_multipart_fields_and_urls_inside_json_are_redacted() -> None:
    rules = RedactionRules()
    form = (
        b'--B\r\nContent-Disposition: form-data; name="api_key"\r\n\r\nabc12\r\n'
        b'--B\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--B--\r\n'
    )
    item = redact_interaction(_item(1, form, "multipart/form-data; boundary=B"), rules)
    assert item.request.body is not None
    assert b"abc12" not in item.request.body and b"whisper-1" in item.request.body
    hook = b'{"notifyHook": "https://hooks.example/cb?token=hooktoken99&x=1", "link": "see https://a.b/?signature=s1gn4tur3"}'
    item = redact_interaction(_item(2, hook), rules)
    assert item.request.body is not None
    assert b"hooktoken99" not in item.request.body and b"s1gn4tur3" not in item.request.body
    assert b"https://hooks.example/cb?token=" in item.request.body and b"&x=1" in item.request.body
