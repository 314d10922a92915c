"""What ``navigator validate`` reports: one :class:`Check` per item, printed as ✓/✗
lines or JSON; the run's options, and the constants its sections share."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import attrs
import httpx

from domain.status import PIPELINE_ORDER, JobStatus
from entrypoints.cli.outcomes import CommandFailed
from entrypoints.container.database import DATABASE_TROUBLE
from entrypoints.settings import Settings

VALIDATION_MEMBER = "navigator-validation"
#: The statuses a document passes through on its way to complete, in order.
PIPELINE: tuple[JobStatus, ...] = tuple(s for s in PIPELINE_ORDER if s is not JobStatus.FAILED)
#: The schema the *other* environment lives in: never to be this one's.
OTHER_ENVIRONMENT_SCHEMA = {"staging": "upload_pipeline", "production": "upload_pipeline_staging"}
FOREIGN_ORIGIN = "https://validation-probe.invalid"
DOCUMENTS = "/api/v1/documents"
#: Every canary's file name starts so; cleanup deletes nothing else.
CANARY_PREFIX = "navigator-validate-"
POLL_SECONDS = 0.2
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
CHECK_TIMEOUT = 5.0
TOKEN_TTL = timedelta(hours=1)
DATABASE_FAILED: tuple[type[Exception], ...] = (CommandFailed, *DATABASE_TROUBLE)

# -- results --------------------------------------------------------------------------------


@attrs.frozen
class Check:
    """One item of the checklist: its section, what was checked, and what was found."""

    section: str
    what: str
    passed: bool
    detail: str = ""
    data: dict[str, Any] = attrs.field(factory=dict, eq=False)

    def line(self) -> str:
        mark = "✓" if self.passed else "✗"
        return f"{mark} {self.what}" + (f": {self.detail}" if self.detail else "")

    def as_json(self) -> dict[str, Any]:
        return {"section": self.section, "item": self.what, "passed": self.passed,
                "detail": self.detail, **({"data": self.data} if self.data else {})}


@attrs.frozen
class Options:
    api: str | None = None
    member: str = VALIDATION_MEMBER
    token: str | None = None
    load: int = 5
    timeout: float = 120.0


def render_text(checks: list[Check]) -> str:
    lines: list[str] = []
    section = None
    for check in checks:
        if check.section != section:
            section = check.section
            lines.append(("\n" if lines else "") + section)
        lines.append(check.line())
    failed = sum(not c.passed for c in checks)
    lines.append("")
    lines.append(f"{len(checks) - failed} of {len(checks)} checks passed" if failed
                 else f"all {len(checks)} checks passed")
    return "\n".join(lines)


def render_json(checks: list[Check], settings: Settings | None, api: str | None) -> str:
    return json.dumps({
        "passed": all(c.passed for c in checks),
        "environment": settings.environment if settings else None,
        "schema": settings.database_schema if settings else None,
        "api": api,
        "checks": [c.as_json() for c in checks],
    }, indent=2)
