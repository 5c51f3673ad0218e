"""deploy/compose.yaml and deploy/nginx.conf hold together: Redis, two replicas on it, a balancer over
exactly those replicas, health checks everywhere, and an nginx configuration nginx itself accepts.

No Docker engine runs here, so the file is read as YAML and checked for what `docker compose up` relies
on; nginx (Debian's package, installed by .ci/run) checks the configuration with `nginx -t`.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mockserver.settings import load_settings
from tests.deploy.topology import (
    COMPOSE,
    LB_PORT,
    NGINX_CONF,
    REPLICA_PORT,
    ROOT,
    compose,
    nginx_binary,
    templated,
    upstream_servers,
)

REPLICAS = ("replica-a", "replica-b")


def entrypoint() -> list[str]:
    """The Dockerfile's ENTRYPOINT, which each replica's `command` is appended to."""
    found = re.search(r"^ENTRYPOINT (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M)
    assert found, "Dockerfile has no exec-form ENTRYPOINT"
    argv: list[str] = json.loads(found.group(1))
    return argv


def replica_argv(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return [*entrypoint(), *(shlex.split(command) if isinstance(command, str) else command)]


def test_services_and_their_order() -> None:
    services = compose()["services"]
    assert set(services) == {"redis", *REPLICAS, "lb"}
    for name in REPLICAS:
        assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert services["lb"]["depends_on"] == {name: {"condition": "service_healthy"} for name in REPLICAS}
    assert services["lb"]["ports"] == [f"{LB_PORT}:{LB_PORT}"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["lb"]["volumes"]
    assert (COMPOSE.parent / "nginx.conf").is_file()


def test_every_service_has_a_health_check() -> None:
    services = compose()["services"]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    for name in REPLICAS:
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{REPLICA_PORT}/__mock/health" in probe
    assert f"http://127.0.0.1:{LB_PORT}/__mock/health" in " ".join(services["lb"]["healthcheck"]["test"])
    for service in services.values():
        check = service["healthcheck"]
        assert check["test"][0] == "CMD" and {"interval", "timeout", "retries"} <= set(check)


def test_replicas_are_built_from_the_repo_and_share_one_redis_store() -> None:
    services = compose()["services"]
    stores = set()
    for name in REPLICAS:
        service = services[name]
        build = service["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
        argv = replica_argv(service)
        assert argv[:2] == ["mockserver", "serve"]
        assert argv[argv.index("--host") + 1] == "0.0.0.0" and argv[argv.index("--port") + 1] == str(REPLICA_PORT)
        store = argv[argv.index("--store") + 1]
        assert store.startswith("redis://redis:6379/") and "prefix=" in store
        assert load_settings({"store": store}, environ={}).store == store  # a URL the emulator accepts
        assert "MOCKSERVER_CONTROL_TOKEN" in service["environment"]  # listening on 0.0.0.0: the token is asked for
        stores.add(store)
    assert len(stores) == 1, "the replicas must share one store (same URL, same prefix)"


def test_the_balancer_sends_to_exactly_the_replicas_and_streams() -> None:
    conf = NGINX_CONF.read_text()
    assert sorted(server.split()[0] for server in upstream_servers(conf)) == [f"{n}:{REPLICA_PORT}" for n in REPLICAS]
    assert re.search(rf"^\s*listen {LB_PORT};", conf, re.M)
    location = conf[conf.index("location / {") :]
    for directive in (
        "proxy_pass http://mockserver;",
        "proxy_http_version 1.1;",
        "proxy_buffering off;",
        "proxy_read_timeout 3600s;",
    ):
        assert directive in location, directive
    # round-robin: no balancing method that would pin clients to one replica
    assert not re.search(r"^\s*(ip_hash|hash|least_conn|random)\b", conf, re.M)


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (Debian package nginx; .ci/run installs it)")
    text = templated(NGINX_CONF.read_text(), {n: 1 + i for i, n in enumerate(REPLICAS)}, 1, tmp_path)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    check = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stderr
    assert "syntax is ok" in check.stderr
