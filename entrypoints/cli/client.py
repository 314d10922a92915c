"""``navigator upload``, and what every client command shares: the API over HTTP.

They talk to a running API (``navigator up`` or ``navigator api``) exactly as an
app would: a bearer token, multipart uploads, problem+json errors. The token is
``--token``, else ``NAVIGATOR_TOKEN``, else a dev token minted for ``--member``
with the same secret the local API uses (``SUPABASE_JWT_SECRET`` or the dev
secret in ``NAVIGATOR_HOME``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import attrs
import httpx

from entrypoints.cli.outcomes import OK, CommandFailed, UsageError
from entrypoints.settings import Settings
from entrypoints.tokens import mint_dev_token

TERMINAL = ("complete", "failed")
POLL_SECONDS = 0.25
BAR_WIDTH = 24
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=5.0, read=120.0)


# -- connecting ----------------------------------------------------------------------------


def api_url(args: argparse.Namespace, settings: Settings) -> str:
    url = args.api or f"http://127.0.0.1:{settings.service_port}"
    if not re.match(r"^https?://", url):
        raise UsageError(f"--api must be an http(s) URL such as http://127.0.0.1:10000 "
                         f"(got {url!r})")
    return url.rstrip("/")


def access_token(args: argparse.Namespace, settings: Settings) -> str:
    token = args.token or os.environ.get("NAVIGATOR_TOKEN")
    if token:
        return str(token).strip()
    return mint_dev_token(settings, args.member)


def client_for(args: argparse.Namespace, settings: Settings) -> httpx.Client:
    return httpx.Client(
        base_url=api_url(args, settings),
        headers={"Authorization": f"Bearer {access_token(args, settings)}"},
        timeout=REQUEST_TIMEOUT,
    )


@contextlib.contextmanager
def reaching(client: httpx.Client) -> Iterator[None]:
    """Says in words what to do when the API cannot be reached or does not answer."""
    try:
        yield
    except httpx.ConnectError:
        raise CommandFailed(
            f"cannot reach the API at {client.base_url}: is `navigator up` (or `navigator "
            "api`) running? Point --api at it otherwise"
        ) from None
    except httpx.TimeoutException:
        raise CommandFailed(f"the API at {client.base_url} did not answer in time") from None
    except httpx.TransportError as exc:  # closed or reset mid-answer (a restart, a proxy)
        raise CommandFailed(
            f"the connection to the API at {client.base_url} broke "
            f"({type(exc).__name__}); try again") from None


def request(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with reaching(client):
        return client.request(method, path, **kwargs)


def problem_detail(response: httpx.Response) -> str:
    """The ``detail`` of a problem+json answer, else the status line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def check_auth(response: httpx.Response) -> None:
    if response.status_code == 401:
        raise CommandFailed(
            f"the API refused the token: {problem_detail(response)} (pass --token, set "
            "NAVIGATOR_TOKEN, or run on the machine of the API to use a dev token)"
        )


# -- upload --------------------------------------------------------------------------------


@attrs.define
class Tracked:
    """One file on its way: uploaded (job id known), or rejected at once."""

    name: str
    job_id: str | None = None
    status: str = "uploading"
    progress: float = 0.0
    error: str | None = None
    duplicate: bool = False
    attempts: int = 0

    @property
    def done(self) -> bool:
        return self.job_id is None or self.status in TERMINAL

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "rejected")


def command_upload(args: argparse.Namespace, settings: Settings) -> int:
    paths = [Path(name) for name in args.files]
    for path in paths:
        if not path.is_file():
            raise UsageError(f"FILE {path} does not exist or is not a file")
    view = ProgressView(sys.stdout)
    with client_for(args, settings) as client:
        tracked = [upload_one(client, path) for path in paths]
        view.show(tracked)
        if not args.no_wait:
            follow(client, tracked, view, timeout=args.timeout)
    view.finish(tracked)
    failures = [t for t in tracked if t.failed]
    unfinished = [t for t in tracked if not t.done]
    if view.tty:  # the progress lines were cut to the terminal's width: the reasons in full
        for item in failures:
            print(f"✗ {item.name}: {item.error}", file=sys.stderr)
    if unfinished and not args.no_wait:
        names = ", ".join(t.name for t in unfinished)
        print(f"still processing after {args.timeout:g}s: {names}", file=sys.stderr)
    return 1 if failures or (unfinished and not args.no_wait) else OK


def upload_one(client: httpx.Client, path: Path) -> Tracked:
    item = Tracked(path.name)
    with path.open("rb") as fh:
        response = request(client, "POST", "/api/v1/documents",
                            files={"file": (path.name, fh)})
    check_auth(response)
    if response.status_code not in (200, 202):
        item.status, item.error = "rejected", problem_detail(response)
        return item
    body = response.json()
    _update(item, body["job"])
    item.duplicate = bool(body.get("duplicate"))
    return item


def _update(item: Tracked, job: dict[str, Any]) -> None:
    item.job_id = str(job["id"])
    item.status = str(job["status"])
    item.progress = float(job.get("progress") or 0.0)
    item.attempts = int(job.get("attempts") or 0)
    if item.status == "failed":
        stage = job.get("failed_stage")
        reason = job.get("last_error") or "no reason recorded"
        item.error = f"failed at {stage}: {reason}" if stage else reason
    elif job.get("last_error"):
        item.error = str(job["last_error"])  # a retry is pending
    else:
        item.error = None


def follow(client: httpx.Client, tracked: list[Tracked], view: ProgressView,
           timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not all(t.done for t in tracked) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        for item in tracked:
            if item.done:
                continue
            response = request(client, "GET", f"/api/v1/jobs/{item.job_id}")
            check_auth(response)
            if response.status_code == 404:
                item.status, item.error = "failed", "the document was deleted meanwhile"
            elif response.status_code == 200:
                _update(item, response.json())
            # 503 and other passing trouble: keep following
        view.show(tracked)


class ProgressView:
    """One line per file. On a terminal the lines are redrawn in place; otherwise a
    line is printed only when a file's status changes (logs stay readable)."""

    def __init__(self, stream: IO[str], tty: bool | None = None) -> None:
        self._stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._drawn = 0
        self._last: dict[int, str] = {}

    def show(self, tracked: list[Tracked]) -> None:
        width = max(len(t.name) for t in tracked)
        lines = [render_line(t, width) for t in tracked]
        if self.tty:
            # a wrapped line would break the redraw: keep each to the terminal's width
            columns = shutil.get_terminal_size().columns - 1
            lines = [line if len(line) <= columns else line[: columns - 1] + "…"
                     for line in lines]
            if self._drawn:
                self._stream.write(f"\x1b[{self._drawn}F")  # back to the first line
            for line in lines:
                self._stream.write("\x1b[2K" + line + "\n")
            self._drawn = len(lines)
        else:
            for index, item in enumerate(tracked):
                key = f"{item.status}|{item.error}"
                if self._last.get(index) != key:
                    self._last[index] = key
                    self._stream.write(lines[index] + "\n")
        self._stream.flush()

    def finish(self, tracked: list[Tracked]) -> None:
        complete = sum(t.status == "complete" for t in tracked)
        failed = sum(t.failed for t in tracked)
        waiting = len(tracked) - complete - failed
        parts = [f"{complete} complete"]
        if failed:
            parts.append(f"{failed} failed")
        if waiting:
            parts.append(f"{waiting} still processing")
        self._stream.write(", ".join(parts) + "\n")
        self._stream.flush()


def render_line(item: Tracked, width: int) -> str:
    filled = round(item.progress * BAR_WIDTH)
    if item.status == "complete":
        filled = BAR_WIDTH
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    note = item.status
    if item.duplicate and item.status == "complete":
        note = "complete (already uploaded)"
    if item.failed:
        note = f"{item.status}: {item.error}"
    elif item.error:
        note = f"{item.status} (attempt {item.attempts + 1}; last error: {item.error})"
    percent = 100 if item.status == "complete" else round(item.progress * 100)
    if item.failed:
        return f"{item.name:<{width}}  [{'x' * BAR_WIDTH}]       {note}"
    return f"{item.name:<{width}}  [{bar}] {percent:>3}%  {note}"
