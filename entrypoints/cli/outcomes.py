"""How a ``navigator`` command ends: its exit codes and the two errors that set them.

A module of its own so the command modules (``client``, ``operator``, ``services``,
``validate``) can raise them without importing ``main``, which imports them: the
CLI's modules form no import cycle.
"""

from __future__ import annotations

OK, FAILED, USAGE = 0, 1, 2


class UsageError(Exception):
    """A bad argument: the message names it and says what is allowed (exit code 2)."""


class CommandFailed(Exception):
    """The command ran and failed; the message says why (exit code 1)."""
