"""The README a newcomer follows: its configuration tables list every setting the code
reads exactly once, its tables are whole, it repeats no sentence, and its commands
need no file from outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from entrypoints.settings import Settings

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
#: Variables the code reads outside the settings: the CLI client's token.
OTHER_VARIABLES = {"NAVIGATOR_TOKEN"}


def text() -> str:
    return README.read_text(encoding="utf-8")


def section(title: str) -> str:
    body = text().split(f"\n## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def prose_lines() -> list[str]:
    """The README's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def listed_variables() -> list[str]:
    """The first column of every configuration table row, one name per row."""
    names = []
    for line in section("Configuration").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] not in ("variable", "---"):
            names.extend(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]))
    return names


def test_every_setting_is_in_the_configuration_tables_exactly_once() -> None:
    listed = listed_variables()
    settings = {name.upper() for name in Settings.model_fields}
    missing = sorted(settings - set(listed))
    twice = sorted({name for name in listed if listed.count(name) > 1})
    unknown = sorted(set(listed) - settings - OTHER_VARIABLES)
    assert missing == [], f"settings the README does not list: {missing}"
    assert twice == [], f"listed more than once: {twice}"
    assert unknown == [], f"listed but read by nothing: {unknown}"


def test_every_table_row_belongs_to_a_table_with_a_header() -> None:
    lines = prose_lines()
    for number, line in enumerate(lines):
        if not line.startswith("|"):
            continue
        start = number
        while start > 0 and lines[start - 1].startswith("|"):
            start -= 1
        assert start + 1 < len(lines) and re.match(r"^\|(-+\|)+$", lines[start + 1]), (
            f"a table row without its header: {line[:60]!r}")
        assert start == 0 or lines[start - 1].strip() == "", (
            f"a table that does not start on its own: {line[:60]!r}")


def test_no_sentence_is_written_twice() -> None:
    seen: set[str] = set()
    repeated = []
    for line in prose_lines():
        for sentence in re.split(r"(?<=[.!?])\s+", line.strip()):
            if len(sentence) < 40 or sentence.startswith("|"):
                continue
            if sentence in seen:
                repeated.append(sentence)
            seen.add(sentence)
    assert repeated == []


def test_the_first_commands_use_only_files_in_the_repository() -> None:
    assert "../" not in text(), "a newcomer has nothing outside the repository"
    mentioned = set(re.findall(r"\bexamples/[\w./-]+\.\w+", text()))
    assert "examples/sample_summary_of_benefits.pdf" in mentioned
    absent = sorted(path for path in mentioned if not (REPO / path).is_file())
    assert absent == []
