"""Sizes in bytes, in binary units, so that a limit reads as ``50 * MIB`` everywhere.

One definition for the domain, the adapters, the settings and the tests: a size
limit written in one place and checked in another then means the same number.
"""

from __future__ import annotations

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
