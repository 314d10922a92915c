"""A passage read as the extractive answerer reads it: units it can quote.

A unit is a sentence, a list item, or a benefit-chart row (or one sentence of a
row's cell), with what the reader knows about where it stands:

- **Sentences.** A passage's lines are joined until a sentence ends (a PDF breaks a
  sentence across lines), then split at sentence ends; bullets start a new one.
- **Chart rows.** The parser writes each row of a ruled table on one line, its cells
  separated by tabs (``adapters/parsers/pdf_tables.py``). A row is never joined to
  the lines around it. A short row is one unit, read with its cells joined
  ("Knee scooters — Not covered under any condition"); a long one (a benefit
  chart's service with its description, then what the member pays) gives a unit per
  sentence of each cell, each knowing its row, its cell, the row's service (the
  first words of its first cell: "Ambulance services") and, under a table's header
  row, its column's header ("Preferred retail cost-sharing (in-network)").
- **Tables' headers.** A table's header row ("Method | Appeals For Medical Care -
  Contact Information", "Tier | Standard retail cost-sharing ...") says what its
  rows are about: the rows below stand under it as under a heading.
- **Headings.** A markdown heading (``## SECTION 4 There is no deductible``) is a
  unit of its own and the heading every unit under it stands in: what a sentence is
  about is evidence too.
"""

from __future__ import annotations

import re

import attrs

#: A run of joined lines longer than this starts a new one at the next line.
LONG_RUN = 1500
#: A chart row at most this long is one unit, quoted whole.
SHORT_ROW = 300
#: At most this many words of a row's first cell name its service.
LABEL_WORDS = 12
CELL = "\t"
#: How a quoted row's cells are joined (a contact table's label, "CALL", with a space).
JOIN = " \u2014 "

# A line starting a list item, or a contact table's row ("CALL 1-800-...", "TTY 711").
_BULLET = re.compile(
    r"^(?:[-*#|\u2022\u25e6\u25aa\u25cf\uf0b7]|\d{1,2}[.)]\s|[A-Z]{2,}\b(?![a-z]))")
# A contact table's row ("CALL 1-800-...", "TTY 711"): one line, apart from the next.
_ROW = re.compile(r"^[A-Z]{2,}\b(?![a-z])")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
# A web address a line break cut after one of its dots ("www.scanhealthplan." / "com/...").
_WEB_ADDRESS = re.compile(r"(?:https?://|www\.)\S*\.$")
ENDED = re.compile(r"[.!?:][\"'\u201d\u2019)]*$")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9$\u2022\"\u201c(])|"
                    r"(?<=[.!?][\"'\u201d\u2019)])\s+(?=[A-Z0-9$\u2022\"\u201c(])|"
                    r"\s+(?=\u2022)")
_ABBREVIATION = re.compile(r"(?:\b[A-Za-z]\.){1,3}$|\b(?:Mr|Mrs|Ms|Dr|St|No|Inc|etc|vs|Jr|"
                           r"Sr|Sec|Ch|approx|e\.g|i\.e)\.$")
_STRIP = "#*-|\u2022\u25e6\u25aa\u25cf\uf0b7 "
# Words that open the description after a chart row's service name.
_OPENERS = frozenset(["Covered", "You", "We", "Our", "The", "This", "These", "For", "If",
                      "A", "An", "In", "When", "There", "Includes", "Services"])
# Words a service's name runs on after ("Welcome to Medicare", "services and Intensive").
_JOINING = frozenset(["to", "of", "and", "or", "for", "the", "in", "with", "a", "an", "at",
                      "on", "by", "from"])
_VALUE_SIGN = re.compile(r"[$%]")


@attrs.frozen
class Unit:
    """One quotable piece of a passage."""

    text: str
    #: the heading this unit stands under in the passage ("" when none is in it)
    heading: str = ""
    #: which chart row of the passage it belongs to (None: not in a row)
    row: int | None = None
    #: its cell in the row: 0 the service, 1.. what is paid; None: the whole row
    cell: int | None = None
    #: the row's service, for a unit of a long row's other cells
    label: str | None = None
    #: the header of its column, under a table's header row
    column: str | None = None
    #: the title of its table, from a header row that names it ("Appeals For
    #: Medical Care - Contact Information" under "Method")
    table: str | None = None
    is_heading: bool = False

    @property
    def quoted(self) -> str:
        """How the unit is quoted: a cell's sentence under its row's service."""
        if self.label is None or self.cell in (None, 0):
            return self.text
        column = f"{self.column}: " if self.column else ""
        return f"{self.label}{_glue(self.label)}{column}{self.text}"


def units(text: str) -> list[Unit]:
    """The units of a passage, in reading order."""
    found: list[Unit] = []
    heading = ""
    row = 0
    header: list[str] | None = None  # the current table's header row
    previous_was_row = False
    block: list[str] = []

    def flush() -> None:
        for sentence in _sentences(block):
            found.append(Unit(sentence, heading=heading))
        block.clear()

    for line in text.splitlines():
        if CELL in line:
            flush()
            cells = [" ".join(c.split()) for c in line.split(CELL)]
            if _is_header(cells, starts=not previous_was_row):
                header = cells
                previous_was_row = True
                found.append(Unit(_joined(cells, None), heading=heading, row=row))
                row += 1
                continue
            if not previous_was_row:
                header = None
            columns = header if header is not None and len(header) == len(cells) >= 3 \
                else None
            caption = f"{heading} {' '.join(header)}" if header is not None else heading
            title = JOIN.join(header[1:]) if header is not None and len(header) == 2 else None
            found += [attrs.evolve(u, table=title)
                      for u in _row_units(cells, columns, caption, row)]
            row += 1
            previous_was_row = True
            continue
        previous_was_row = False
        match = _HEADING.match(line.strip())
        if match:
            flush()
            heading = " ".join(match.group(1).split())
            found.append(Unit(heading, heading=heading, is_heading=True))
            continue
        block.append(line)
    flush()
    return found


def sentences(text: str) -> list[str]:
    """The text of each unit of ``text`` (sentences, list items, chart rows)."""
    return [u.quoted for u in units(text)]


def _is_header(cells: list[str], starts: bool) -> bool:
    """A table's header row, naming it or its columns: each cell a short name, none a
    value; the first row of a table, or a row whose first cell is one word naming a
    column ("Method", "Tier")."""
    if not (all(cells) and all(len(c) <= 120 for c in cells)
            and not any(_VALUE_SIGN.search(c) for c in cells)):
        return False
    first = cells[0].split()
    named = len(first) == 1 and first[0][:1].isupper() and not first[0].isupper()
    return named or (starts and len(cells) >= 3)


def _row_units(cells: list[str], columns: list[str] | None, heading: str,
               row: int) -> list[Unit]:
    joined = _joined(cells, columns)
    if len(joined) <= SHORT_ROW:
        return [Unit(joined, heading=heading, row=row)]
    label = service(cells[0]) or None  # a row continued from the page before has none
    found = []
    for number, cell in enumerate(cells):
        if not cell:
            continue
        column = columns[number] if columns is not None and number > 0 else None
        for sentence in _sentences([cell]):
            found.append(Unit(sentence, heading=heading, row=row, cell=number,
                              label=label, column=column))
    return found


def _joined(cells: list[str], columns: list[str] | None) -> str:
    """A row read out: its cells joined (a contact label, "CALL", with a space), an
    empty cell left out, a cell under a header row named by its column."""
    parts = []
    for number, cell in enumerate(cells):
        if not cell:
            continue
        if columns is not None and number > 0:
            cell = f"{columns[number]}: {cell}"
        parts.append(cell)
    if len(parts) >= 2:
        return f"{parts[0]}{_glue(parts[0])}{JOIN.join(parts[1:])}"
    return JOIN.join(parts)


def _glue(label: str) -> str:
    """What joins a row's label to the rest: a space after a contact table's one
    word ("CALL 1-800-559-3500", "TTY 711"), a dash after a service."""
    return " " if label.isupper() and len(label.split()) == 1 else JOIN


def service(cell: str) -> str:
    """A chart row's service: the first words of its first cell, before the
    description starts ("Ambulance services" of "Ambulance services Covered ...";
    "Health club membership" of "Health club membership* SCAN Classic provides ...")."""
    words = cell.split()
    for i in range(1, min(len(words), LABEL_WORDS + 1)):
        word, before = words[i], words[i - 1]
        if before.endswith("*"):  # the booklet's mark after a supplemental benefit's name
            return " ".join(words[:i]).rstrip("*")
        if not word[0].isupper() or (word.isupper() and word != "A") or \
                (len(word) < 2 and word not in _OPENERS):
            continue
        if before.lower() in _JOINING or not (before[-1].islower() or before[-1] in ")+:"):
            continue
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in _OPENERS or following[:1].islower():
            return " ".join(words[:i]).rstrip("*:")
    if len(words) <= LABEL_WORDS:
        return cell.rstrip("*")
    return " ".join(words[:8]) + "\u2026"


def _sentences(lines: list[str]) -> list[str]:
    runs: list[str] = []
    current, joined = "", 0
    for line in lines:
        flat = " ".join(line.split())
        if not flat:
            if current:
                runs.append(current)
            current, joined = "", 0
            continue
        if current and (_BULLET.match(flat) or (ENDED.search(current) and
                                                not _WEB_ADDRESS.search(current))
                        or len(current) > LONG_RUN
                        or (joined == 1 and _ROW.match(current) and flat[:1].isupper())):
            runs.append(current)
            current, joined = flat, 1
        else:
            glue = "" if _WEB_ADDRESS.search(current) else " "
            current = f"{current}{glue}{flat}" if current else flat
            joined += 1
    if current:
        runs.append(current)
    found = []
    for run in runs:
        pieces: list[str] = []
        for piece in _SPLIT.split(run):
            if pieces and _ABBREVIATION.search(pieces[-1]):
                pieces[-1] = f"{pieces[-1]} {piece}"
            else:
                pieces.append(piece)
        for piece in pieces:
            flat = piece.lstrip(_STRIP).strip()
            if len(flat) > 3:
                found.append(flat)
    return found
