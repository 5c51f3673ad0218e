"""deploy/compose.yaml's topology as local processes: the same deploy/nginx.conf in front of emulator
processes on loopback ports (the compose file's replica names and ports templated into it)."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
NGINX_CONF = DEPLOY / "nginx.conf"
REPLICA_PORT = 8080  # the port every replica and the balancer listen on inside compose
LB_PORT = 8080


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def nginx_binary() -> str | None:
    """Debian's nginx (installed by .ci/run), wherever it is on this machine."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def upstream_servers(conf: str) -> list[str]:
    """The `server HOST:PORT` lines of the `upstream mockserver` block."""
    block = re.search(r"upstream mockserver \{(.*?)\}", conf, re.S)
    assert block, "nginx.conf has no `upstream mockserver { ... }` block"
    return re.findall(r"^\s*server\s+(\S+)", block.group(1), re.M)


def templated(conf: str, replicas: dict[str, int], lb_port: int, folder: Path) -> str:
    """nginx.conf with each `server <name>:8080` pointed at 127.0.0.1:<port>, `listen` on `lb_port` (loopback
    only), every file nginx writes kept in `folder`, and the access log (which replica answered) on."""
    for name, port in replicas.items():
        conf, count = re.subn(rf"\bserver {re.escape(name)}:{REPLICA_PORT}\b", f"server 127.0.0.1:{port}", conf)
        assert count == 1, f"nginx.conf: no `server {name}:{REPLICA_PORT}` line"
    conf, count = re.subn(rf"\blisten {LB_PORT};", f"listen 127.0.0.1:{lb_port};", conf)
    assert count == 1, f"nginx.conf: no `listen {LB_PORT};` line"
    temp = "".join(
        f"    {kind}_temp_path {folder / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("    access_log off;\n", f"    access_log {folder / 'access.log'} upstream;\n{temp}", 1)
    return conf


@contextlib.contextmanager
def running_nginx(binary: str, conf_text: str, folder: Path, lb_port: int) -> Iterator[str]:
    """nginx in the foreground on `conf_text`, its pid and logs in `folder`; yields the balancer's URL."""
    conf = folder / "nginx.conf"
    conf.write_text(conf_text)
    args = [binary, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [*args, "-g", f"daemon off; pid {folder / 'nginx.pid'};"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{lb_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(folder / 'error.log').read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/__mock/health", timeout=2, trust_env=False).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("nginx did not pass a health check within 30 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


def answered_by(folder: Path) -> list[str]:
    """The upstream address of every request in the access log, in order."""
    log = folder / "access.log"
    return [line.rsplit(" ", 1)[1] for line in log.read_text().splitlines()] if log.exists() else []
