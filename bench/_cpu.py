"""CPU seconds spent by processes, from ``/proc`` (Linux): what a benchmark on a shared,
noisy machine can report that waiting for a core does not inflate."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()  # the fields from the 3rd (state) on


def cpu_of(pid: int, *, with_reaped: bool = False) -> float:
    """CPU seconds ``pid`` spent (all its threads), and with ``with_reaped`` those of its
    children that have exited and been waited for."""
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICK


def _parents() -> dict[int, int]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue
    return found


def descendants(root: int, *, pruned: int | None = None) -> list[int]:
    """The living processes below ``root`` (children, their children, ...), without
    ``pruned`` and those below it."""
    parents = _parents()
    below, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, of in parents.items() if of == parent and pid != pruned]
        below += children
        frontier += children
    return below


def process_tree_cpu(root: int, *, pruned: int | None = None) -> float:
    """CPU seconds of ``root`` and every process below it, living or exited (a
    PostgreSQL postmaster and its backends; a service and its parser processes), but
    for ``pruned`` and those below it (a database server the service started)."""
    total = cpu_of(root, with_reaped=True)
    for pid in descendants(root, pruned=pruned):
        try:
            total += cpu_of(pid, with_reaped=True)
        except OSError:  # exited meanwhile: counted with the reaped ones next time
            continue
    return total


def postmaster_of(pgdata: Path) -> int:
    """The pid of the PostgreSQL server whose data folder is ``pgdata``."""
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def run_seconds(pid: int) -> float:
    """Seconds ``pid`` (its main thread) has run on a CPU, to the nanosecond
    (``/proc/PID/schedstat``): fine enough for one statement of a database backend."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
