"""Ports for servers a test starts in another process (the API, the worker's metrics,
PgBouncer, a fake S3), chosen here and bound there a moment later.

Asking the kernel for port 0 and closing the socket hands back an *ephemeral* port:
the same range the kernel draws from for every outgoing connection (a test's HTTP
client, asyncpg, PgBouncer's own links to PostgreSQL). In the moment between our
close and the child's bind, any of those may take it, and the child dies with
"Address already in use"; two calls in a row may even return the same port. So ports
come from below the ephemeral range, where the kernel never places a connection, and
one run never hands out the same port twice.
"""

from __future__ import annotations

import os
import random
import socket
import threading
from pathlib import Path

LOWEST = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")

_given: set[int] = set()
_lock = threading.Lock()
# Seeded by the process, so two test processes on one machine walk different orders.
_random = random.Random(os.getpid())


def _ephemeral_start() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default lower bound


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, outside the ephemeral range, and
    not handed out before in this process."""
    top = _ephemeral_start()
    if top <= LOWEST + 100:
        raise RuntimeError(f"the ephemeral port range starts at {top}: no room below it")
    with _lock:
        for _ in range(1000):
            port = _random.randrange(LOWEST, top)
            if port not in _given and _bindable(port):
                _given.add(port)
                return port
    raise RuntimeError(f"no free port found between {LOWEST} and {top}")
