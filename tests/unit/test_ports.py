"""The ports tests hand to the servers they start in other processes: outside the
kernel's ephemeral range (where an outgoing connection could take one between our
check and the server's bind), never one something listens on, never the same twice."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests import ports
from tests.ports import LOWEST, free_port


class Draws:
    """Stands in for the module's random source: hands out the given ports in order."""

    def __init__(self, *draws: int) -> None:
        self._draws: Iterator[int] = iter(draws)

    def randrange(self, start: int, stop: int) -> int:
        return next(self._draws)


def test_ports_are_below_the_ephemeral_range_distinct_and_bindable() -> None:
    chosen = [free_port() for _ in range(200)]
    assert len(set(chosen)) == len(chosen)
    assert all(LOWEST <= port < ports._ephemeral_start() for port in chosen)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", chosen[-1]))


def test_a_port_already_handed_out_or_listened_on_is_passed_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    given, spare = free_port(), free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", free_port()))
        busy.listen(1)
        listened = busy.getsockname()[1]
        monkeypatch.setattr(ports, "_given", {given})
        monkeypatch.setattr(ports, "_random", Draws(given, listened, spare))
        assert free_port() == spare
