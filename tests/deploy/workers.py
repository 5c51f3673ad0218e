"""Which worker process of a `mockserver serve --workers N` answered a connection, read from Linux /proc.

Workers share one listening socket, so the kernel picks a worker per connection. A test that must show
"submitted on one worker, fetched on another" keeps several keep-alive connections open, finds the
worker holding each one's server-side socket (`/proc/net/tcp` gives the socket's inode,
`/proc/<pid>/fd` says which process holds it), and picks one connection per worker.
"""

from __future__ import annotations

import contextlib
import http.client
import os
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children first), from /proc/<pid>/task/*/children."""
    found: list[int] = []
    queue = [pid]
    while queue:
        parent = queue.pop(0)
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found.append(int(child))
                    queue.append(int(child))
    return found


def _socket_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the established server-side socket from `client_port` to `server_port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
                ports = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
                if state == "01" and ports == (server_port, client_port):
                    return int(inode)
    return None


def holder(inode: int, pids: list[int]) -> int | None:
    """Which of `pids` holds the socket `inode` open."""
    target = f"socket:[{inode}]"
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return pid
    return None


def worker_of(connection: http.client.HTTPConnection, server_pid: int) -> int | None:
    """The worker process serving an open connection (after one request has been answered on it)."""
    assert connection.sock is not None, "send a request first"
    client_port = int(connection.sock.getsockname()[1])
    inode = _socket_inode(int(connection.port), client_port)
    return None if inode is None else holder(inode, descendants(server_pid))


def one_connection_per_worker(
    port: int, server_pid: int, workers: int, *, headers: dict[str, str], tries: int = 200
) -> dict[int, http.client.HTTPConnection]:
    """Open keep-alive connections until each of `workers` worker processes holds one; the extras are closed."""
    found: dict[int, http.client.HTTPConnection] = {}
    for _ in range(tries):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/__mock/health", headers=headers)
        connection.getresponse().read()
        pid = worker_of(connection, server_pid)
        if pid is not None and pid not in found:
            found[pid] = connection
            if len(found) == workers:
                break
        else:
            connection.close()
    return found
