"""The compose topology as processes: two `mockserver serve` replicas on one shared store (a sqlite file,
or a real Redis server) behind nginx running deploy/nginx.conf, used only through the balancer."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.testing import free_port
from tests.deploy.topology import NGINX_CONF, answered_by, nginx_binary, running_nginx, templated
from tests.redis_server import own_redis_server
from tests.tasks.helpers import AUTH, START, ServerProcess

IMAGINE = {"prompt": "a harbour at dawn", "botType": "MID_JOURNEY", "notifyHook": "", "state": "", "base64Array": []}


@contextlib.contextmanager
def shared_store(kind: str, folder: Path) -> Iterator[str]:
    """The `--store` URL both replicas use."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'shared.db'}"
        return
    with own_redis_server() as server:
        yield f"{server.url}?prefix=topology"


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_replicas_behind_nginx_are_one_emulator(kind: str, tmp_path: Path) -> None:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (Debian package nginx; .ci/run installs it)")
    lb_port = free_port()
    public = f"http://127.0.0.1:{lb_port}"  # as in compose: links point at the balancer
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(shared_store(kind, tmp_path))
        args = ("--store", store, "--speed", "0", "--start-time", str(START), "--public-url", public)
        replicas = []
        for _ in range(2):
            replica = ServerProcess(*args)
            stack.callback(replica.stop)
            replicas.append(replica.wait_ready())
        a, b = replicas
        conf = templated(NGINX_CONF.read_text(), {"replica-a": a.port, "replica-b": b.port}, lb_port, tmp_path)
        url = stack.enter_context(running_nginx(binary, conf, tmp_path, lb_port))
        lb = stack.enter_context(httpx.Client(base_url=url, headers=AUTH, timeout=30, trust_env=False))

        submitted = lb.post("/mj/submit/imagine", json=IMAGINE)
        assert submitted.status_code == 200, submitted.text
        task_id = submitted.json()["result"]
        fetched = {lb.get(f"/mj/task/{task_id}/fetch").content for _ in range(8)}
        assert len(fetched) == 1 and json.loads(fetched.pop())["id"] == task_id
        # round-robin: both replicas answered through the balancer
        assert {f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"} <= set(answered_by(tmp_path))

        plan = lb.get(f"/__mock/tasks/{task_id}").json()["plan"]
        advanced = lb.post("/__mock/clock/advance", json={"seconds": plan[-1]["after_seconds"] + 1})
        assert advanced.status_code == 200, advanced.text
        clocks = {replica.http.get("/__mock/clock").json()["now"] for replica in replicas}
        assert clocks == {START + plan[-1]["after_seconds"] + 1}, "a clock advance through the balancer moves both"
        finished = [replica.http.get(f"/mj/task/{task_id}/fetch").json() for replica in replicas]
        assert finished[0] == finished[1] and finished[0]["status"] == "SUCCESS"
        assert finished[0]["imageUrl"].startswith(public + "/")

        # Server-sent events pass through as they are written: an entry made after the stream opened
        # arrives on the open stream (a buffering balancer would hold it until the stream ends).
        with lb.stream("GET", "/__mock/requests/stream") as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")  # the stream is open
            for replica in replicas:  # the stream is on one of them
                replica.http.get("/v1/models")
            seen = False
            for line in lines:
                if line.startswith("data:") and '"/v1/models"' in line:
                    seen = True
                    break
            assert seen, "the journal entry did not come through the open stream"
