"""`mockserver serve --workers 2` as real processes: one emulator by default, on a private sqlite file
that is gone once the server has exited (SIGTERM and Ctrl-C alike)."""

from __future__ import annotations

import http.client
import json
import re
import signal
import stat
import sys
from pathlib import Path

import pytest

from mockserver.serving import ServeError, choose_store
from mockserver.settings import Settings
from tests.deploy.workers import one_connection_per_worker
from tests.tasks.helpers import AUTH, ServerProcess

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads workers from Linux /proc")

IMAGINE = {"prompt": "a lighthouse", "botType": "MID_JOURNEY", "notifyHook": "", "state": "", "base64Array": []}
PRIVATE_LINE = re.compile(r"store: sqlite file (\S+), private to this server and shared by its 2 workers")


def startup_lines(server: ServerProcess) -> list[str]:
    """The server's first two stderr lines: where it listens, and which store it uses."""
    assert server.proc.stderr is not None
    return [server.proc.stderr.readline().decode().strip() for _ in range(2)]


def call(connection: http.client.HTTPConnection, method: str, path: str, body: object = None) -> tuple[int, bytes]:
    headers = {**AUTH, "Content-Type": "application/json"}
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    answer = connection.getresponse()
    return answer.status, answer.read()


@pytest.mark.parametrize("store_flag", [[], ["--store", "memory"]], ids=["default store", "store memory typed"])
def test_two_workers_are_one_emulator_on_a_private_sqlite_file(store_flag: list[str]) -> None:
    server = ServerProcess("--workers", "2", "--speed", "0", *store_flag).wait_ready()
    try:
        listening, store_line = startup_lines(server)
        assert listening == f"mockserver listening on http://127.0.0.1:{server.port}"
        found = PRIVATE_LINE.search(store_line)
        assert found, store_line
        path = Path(found.group(1))
        folder = path.parent
        assert path.is_file() and folder.name.startswith("mockserver-store-")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # the store holds keys and bodies: this user only

        by_worker = one_connection_per_worker(server.port, server.proc.pid, 2, headers=AUTH)
        assert len(by_worker) == 2, f"connections reached workers {sorted(by_worker)} only"
        (first, a), (second, b) = by_worker.items()
        assert first != second
        status, raw = call(a, "POST", "/mj/submit/imagine", IMAGINE)
        assert status == 200, raw
        task_id = json.loads(raw)["result"]
        answers = set()
        for _ in range(10):  # every worker finds the task, every time, with the same answer
            for connection in (a, b):
                status, raw = call(connection, "GET", f"/mj/task/{task_id}/fetch")
                assert status == 200, raw
                answers.add(raw)
        assert len(answers) == 1 and json.loads(answers.pop())["id"] == task_id
        for connection in (a, b):
            connection.close()
    finally:
        server.stop()
    assert server.proc.returncode == 0
    assert not folder.exists(), f"{folder} left behind after SIGTERM"


def test_ctrl_c_removes_the_private_store_too() -> None:
    server = ServerProcess("--workers", "2").wait_ready()
    try:
        found = PRIVATE_LINE.search(startup_lines(server)[1])
        assert found
        folder = Path(found.group(1)).parent
        assert folder.is_dir()
        server.proc.send_signal(signal.SIGINT)
        assert server.proc.wait(30) == 0
    finally:
        server.stop()
    assert not folder.exists(), f"{folder} left behind after Ctrl-C"


def test_one_worker_keeps_memory_and_says_so() -> None:
    server = ServerProcess("--workers", "1").wait_ready()
    try:
        assert startup_lines(server)[1] == "mockserver store: memory (this process only)"
    finally:
        server.stop()


def test_a_store_the_user_named_is_kept_and_shown_without_its_password(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    settings, folder, line = choose_store(Settings(workers=2, store=db))
    assert (settings.store, folder, line) == (db, None, f"store: {db}")
    settings, folder, line = choose_store(Settings(workers=3, store="redis://:s3cret@cache:6379/1?prefix=ci"))
    assert folder is None and line == "store: redis://cache:6379/1?prefix=ci"


def test_the_private_folder_is_removed_when_the_workers_cannot_start(tmp_path: Path) -> None:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "bad.json").write_text("{not json")
    server = ServerProcess("--workers", "2", "--stubs", str(stubs), env={"TMPDIR": str(tmp_path)})
    assert server.proc.wait(60) == 2
    assert server.proc.stderr is not None
    err = server.proc.stderr.read().decode()
    server.stop()
    assert err.count("\n") == 1 and "bad.json" in err and "Traceback" not in err, err
    assert not list(tmp_path.glob("mockserver-store-*")), "private store left behind"


def test_no_room_for_a_private_store_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**kw: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkdtemp", refuse)
    with pytest.raises(ServeError) as caught:
        choose_store(Settings(workers=2))
    assert str(caught.value).startswith("--workers 2: cannot make a private store in ")
    assert str(caught.value).endswith("(Permission denied); set TMPDIR, or pass --store sqlite:///PATH")
