"""``navigator search`` and ``navigator ask``: a member's questions to the API, from a
terminal, and their answers rendered for reading (the best lines of each passage, the
answer as it streams in, then its sources)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from entrypoints.cli.client import (
    check_auth,
    client_for,
    problem_detail,
    reaching,
    request,
)
from entrypoints.cli.outcomes import OK, CommandFailed, UsageError
from entrypoints.settings import Settings

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
        response = request(client, "POST", "/api/v1/search", json=body)
    check_auth(response)
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
            response = request(client, "POST", "/api/v1/answers", json=body)
            _check_answer_response(response)
            print(render_answer(response.json()))
            return OK
        final, shown = _stream_answer(client, body)
    print()
    print(render_answer(final, shown=shown))
    return OK


def _check_answer_response(response: httpx.Response) -> None:
    check_auth(response)
    if response.status_code == 422:
        raise UsageError(problem_detail(response))
    if response.status_code != 200:
        raise CommandFailed(problem_detail(response))


def _stream_answer(client: httpx.Client, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    shown: list[str] = []
    final: dict[str, Any] | None = None
    with reaching(client), client.stream("POST", "/api/v1/answers", json=body,
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
