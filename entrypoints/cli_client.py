"""``navigator upload``, ``search`` and ``ask``: the API from a terminal, over HTTP.

They talk to a running API (``navigator up`` or ``navigator api``) exactly as an
app would: a bearer token, multipart uploads, problem+json errors. The token is
``--token``, else ``NAVIGATOR_TOKEN``, else a dev token minted for ``--member``
with the same secret the local API uses (``SUPABASE_JWT_SECRET`` or the dev
secret in ``NAVIGATOR_HOME``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import textwrap
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import attrs
import httpx

from entrypoints.cli_outcomes import OK, CommandFailed, UsageError
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
def _reaching(client: httpx.Client) -> Iterator[None]:
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


def _request(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with _reaching(client):
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


def _check_auth(response: httpx.Response) -> None:
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
        response = _request(client, "POST", "/api/v1/documents",
                            files={"file": (path.name, fh)})
    _check_auth(response)
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
            response = _request(client, "GET", f"/api/v1/jobs/{item.job_id}")
            _check_auth(response)
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


# -- search --------------------------------------------------------------------------------


def command_search(args: argparse.Namespace, settings: Settings) -> int:
    body: dict[str, Any] = {"query": args.query}
    if args.max_chunks is not None:
        body["max_chunks"] = args.max_chunks
    if args.threshold is not None:
        body["similarity_threshold"] = args.threshold
    if args.budget is not None:
        body["token_budget"] = args.budget
    if getattr(args, "mode", None) is not None:
        body["mode"] = args.mode
    with client_for(args, settings) as client:
        response = _request(client, "POST", "/api/v1/search", json=body)
    _check_auth(response)
    if response.status_code == 422:
        raise UsageError(problem_detail(response))
    if response.status_code != 200:
        raise CommandFailed(problem_detail(response))
    print(render_results(response.json(), args.query, full=args.full))
    return OK


def render_results(result: dict[str, Any], query: str, *, full: bool = False) -> str:
    chunks = result.get("chunks") or []
    if not chunks:
        return (f'no passage matches "{query}" (similarity threshold '
                f'{result.get("similarity_threshold")}); upload documents first, or lower '
                "--threshold")
    lines = [f'{len(chunks)} passage(s) for "{query}" '
             f'({result.get("tokens_used", 0):,} of {result.get("token_budget", 0):,} tokens)']
    for rank, chunk in enumerate(chunks, 1):
        page = f", page {chunk['page']}" if chunk.get("page") else ""
        lines.append("")
        found = _FOUND_BY.get(tuple(chunk.get("matched_by") or ()), "")
        lines.append(f"{rank}. {chunk['filename']}{page}  (similarity "
                     f"{chunk['similarity']:.3f}){found}")
        headings = chunk.get("heading_path") or []
        if headings:
            lines.append("   " + " > ".join(headings))
        text = chunk["text"] if full else best_lines(chunk["text"], query)
        text = mark_matches(text, chunk.get("highlight") or "")
        for line in text.splitlines():
            lines.append("   " + line)
    return "\n".join(lines)


_WORD = re.compile(r"\w+")
_FOUND_BY = {
    ("keyword", "vector"): " found by its words and its meaning",
    ("keyword",): " found by its words",
    ("vector",): " found by its meaning",
}


_MARKED = re.compile(r"\*\*(.+?)\*\*")


def mark_matches(text: str, highlight: str) -> str:
    """``text`` with the words the server marked in its highlight (``**like this**``:
    the question's words as the search matched them, stemming included) marked the
    same way wherever they appear."""
    words = {w for w in _MARKED.findall(highlight) if w.strip()}
    if not words:
        return text
    pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, sorted(words, key=len,
                                                                     reverse=True)))
                         + r")(?!\w)")
    return pattern.sub(r"**\1**", text)


def best_lines(text: str, query: str, limit: int = 420, width: int = 92) -> str:
    """The stretch of ``text`` (about ``limit`` characters, wrapped to ``width``) that
    holds the most of the query's words, so the answer shows without whole chunks."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return textwrap.fill(flat, width, break_on_hyphens=False)
    terms = {w for w in _WORD.findall(query.lower()) if len(w) > 2}
    best_start, best_score = 0, (-1, 0)
    for match in _WORD.finditer(flat.lower()):
        if match.group() not in terms:
            continue
        start = max(0, min(match.start() - limit // 4, len(flat) - limit))
        window = _WORD.findall(flat[start:start + limit].lower())
        score = (len(terms.intersection(window)), sum(w in terms for w in window))
        if score > best_score:
            best_start, best_score = start, score
    start = best_start
    if start > 0:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < start + 40 else start
    end = min(len(flat), start + limit)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start + limit // 2 else end
    shown = ("… " if start > 0 else "") + flat[start:end] + (" …" if end < len(flat) else "")
    return textwrap.fill(shown, width, break_on_hyphens=False)


# -- ask -----------------------------------------------------------------------------------


def command_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Print the answer as it is written (or all at once with --no-stream), then its
    citations underneath: file, page and the cited words."""
    body = {"question": args.question}
    with client_for(args, settings) as client:
        if args.no_stream:
            response = _request(client, "POST", "/api/v1/answers", json=body)
            _check_answer_response(response)
            print(render_answer(response.json()))
            return OK
        final, shown = _stream_answer(client, body)
    print()
    print(render_answer(final, shown=shown))
    return OK


def _check_answer_response(response: httpx.Response) -> None:
    _check_auth(response)
    if response.status_code == 422:
        raise UsageError(problem_detail(response))
    if response.status_code != 200:
        raise CommandFailed(problem_detail(response))


def _stream_answer(client: httpx.Client, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    shown: list[str] = []
    final: dict[str, Any] | None = None
    with _reaching(client), client.stream("POST", "/api/v1/answers", json=body,
                       headers={"Accept": "text/event-stream"}) as response:
        if response.status_code != 200:
            response.read()
            _check_answer_response(response)
        for name, data in sse_events(response.iter_lines()):
            if name == "delta":
                sys.stdout.write(data["text"])
                sys.stdout.flush()
                shown.append(data["text"])
            elif name == "done":
                final = data
            elif name == "error":
                if shown:
                    print()
                raise CommandFailed(str(data.get("detail") or "the answer stopped"))
    if final is None:
        raise CommandFailed("the answer stream ended early; try again")
    return final, "".join(shown)


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """(event name, JSON data) for each server-sent event in ``lines``."""
    name, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield name, json.loads("\n".join(data))


def render_answer(answer: dict[str, Any], *, shown: str | None = None) -> str:
    """The answer (unless it was ``shown`` already, streamed, exactly as final), then
    its sources, one per citation, then how it was written and what it cost."""
    lines: list[str] = []
    text = str(answer.get("answer", "")).strip()
    if shown is None:
        lines.append(text)
    elif shown.strip() != text:
        lines += ["", "Corrected answer (what was shown above was changed on checking):", text]
    citations = answer.get("citations") or []
    if citations:
        lines += ["", "Sources:"]
        for citation in citations:
            page = f", page {citation['page']}" if citation.get("page") else ""
            lines.append(f"  [{citation['label']}] {citation['filename']}{page}")
            quote = best_lines(citation["quote"], str(answer.get("question", "")), limit=240,
                               width=86)
            lines += ["      " + line for line in quote.splitlines()]
    if answer.get("removed_citations"):
        removed = ", ".join(f"[{n}]" for n in answer["removed_citations"])
        lines += ["", f"note: removed citation(s) {removed} that matched none of your passages"]
    if answer.get("withheld"):
        lines += ["", "note: the answer broke the rules and was withheld"]
    tokens = answer.get("tokens") or {}
    if answer.get("kind") == "extracted":
        how = "extracted from your documents (quoted, not generated; no language model is set up)"
    else:
        how = (f"generated by {answer.get('model')} · {tokens.get('input', 0):,} tokens in, "
               f"{tokens.get('output', 0):,} out")
    lines += ["", f"({how})"]
    return "\n".join(lines).lstrip("\n")
