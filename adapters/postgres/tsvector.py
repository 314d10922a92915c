"""``to_tsvector('english', text)`` computed in the worker, exactly, or not at all.

The chunk step writes each chunk with its tsvector. PostgreSQL computing it in the
INSERT is most of that statement's database CPU, so the worker computes it instead
and passes it as a literal; where this module cannot be sure of the result it returns
None and the database computes it (the column's trigger fills a NULL). A wrong
tsvector would silently lose a search match, so the rule is **exact or None**.

How, in PostgreSQL's own terms:

- **Parser**: :mod:`adapters.postgres.ts_parser`, a port of the default parser's state
  machine. A text is cut at whitespace (which ends every token but a tag's, and tags
  are declined), each distinct run is parsed once and cached, so a booklet's common
  words cost one dictionary lookup each.
- **Dictionaries** (the ``english`` configuration's mapping): ``asciiword``,
  ``asciihword`` and ``hword_asciipart`` go to ``english_stem`` (lowercased; a stop
  word gives nothing but takes its position; else the Snowball stem, as
  :mod:`adapters.english` computes it); numbers, hosts, URLs, paths, files, emails,
  versions and ``numword``/``numhword``/``hword_numpart`` to ``simple`` (lowercased);
  ``blank``, ``tag``, ``entity`` and ``protocol`` to nothing (no position).
- **Positions** as ``parsetext()`` gives them: one per token a dictionary is mapped
  for, stop words included; a hyphenated word takes one for the whole and one for each
  part. The literal has one entry per lexeme with its positions in order
  (``'plan':3,9``), in the order the lexemes first occur: PostgreSQL's tsvector input
  sorts the entries (in C), and it parses a lexeme once however often it occurs.

Declined (None), each counted by :func:`decline_reason` for the benchmark:

- ``letters``: a character that is not ASCII and not one of the punctuation marks
  listed in :data:`BLANKS` (accented letters, other scripts, other symbols). Their
  classes come from the database's locale; ASCII's do not.
- ``control``: an ASCII control character other than tab, newline, carriage return.
- ``tag``: ``<`` followed by what could start a tag or comment (``<b``, ``</``,
  ``<!``, ``<?``), whose ``<script>``/``<style>`` mode this port does not follow.
- ``long``: a token of 256 characters or more (PostgreSQL skips words of 2 KB and
  more and does not stem those over 1,000 bytes; none of that is reproduced), or a run
  without whitespace of more than 1,024 characters, declined before it is parsed.
- ``size``: more than 4,000 tokens, or a lexeme at more than 255 positions
  (PostgreSQL caps positions at 16,383 and keeps a lexeme's first 255; neither is
  reproduced).

:data:`BLANKS` holds the non-ASCII punctuation a booklet is full of (curly quotes,
bullets, dashes, a few signs). PostgreSQL reads them as blanks in a UTF-8 database
whose ``LC_CTYPE`` classifies Unicode (``C.UTF-8``, ``en_US.UTF-8``); in a ``C``-locale
database it reads every non-ASCII character as a letter. :data:`CALIBRATION` holds all
of them: a start-up check that compares ``english_tsvector(CALIBRATION)`` with the
database's ``to_tsvector('english', CALIBRATION)`` finds a database that reads them
otherwise (or stems otherwise) before any chunk is written.

No text is ever logged or put in an error by this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import chain
from typing import Final

from adapters import english
from adapters.postgres import ts_parser as tp

#: Non-ASCII characters PostgreSQL reads as blanks (in a Unicode-aware UTF-8 locale):
#: punctuation and symbols that are neither letters, digits nor spaces. Each is
#: replaced by ``^`` before parsing, an ASCII character the parser treats the same
#: way everywhere (a blank, never part of a URL, never a space).
BLANKS: Final = (
    "\u2018\u2019\u201c\u201d"  # curly single and double quotes
    "\u2013\u2014"  # en and em dash
    "\u2022\u25e6\u25aa\u25cf\u25a0\u25a1\u25cb\u25ba"  # bullets, squares, circles
    "\u2026"  # ellipsis
    "\u00a7\u00b6\u00ae\u00a9\u2122\u00b0"  # section, pilcrow, (R), (C), TM, degree
    "\u2020\u2021"  # daggers
    "\u00ab\u00bb"  # guillemets
    "\u00a2\u00a3\u20ac\u00b1\u00d7\u00f7"  # cent, pound, euro, plus-minus, times, divide
    "\u2032\u2033"  # primes
    "\u2713\u2714"  # check marks
)
_BLANK: Final = re.compile(f"[{BLANKS}]")

#: What makes this module decline, found in two steps (one character class scans
#: fastest): anything but printable ASCII, tab, newline and carriage return (after
#: BLANKS), then, if the text holds a "<", the start of a possible tag.
_NOT_ALLOWED: Final = re.compile(r"[^\t\n\r -~]")
_TAG: Final = re.compile(r"<[A-Za-z!?/:_]")

_LONG: Final = 256
#: A run without whitespace longer than this is declined unparsed (the port is pure
#: Python: a long blob would hold the worker's thread for long).
_LONG_RUN: Final = 1024
_MAX_TOKENS: Final = 4000
_MAX_POSITIONS: Final = 255  # PostgreSQL keeps a lexeme's first 255 positions

_STEMMED: Final = frozenset({tp.ASCIIWORD, tp.ASCIIHWORD, tp.ASCIIPARTHWORD})
_SIMPLE: Final = frozenset({
    tp.NUMWORD, tp.EMAIL, tp.URL, tp.HOST, tp.SCIENTIFIC, tp.VERSIONNUMBER,
    tp.NUMPARTHWORD, tp.NUMHWORD, tp.URLPATH, tp.FILEPATH, tp.DECIMAL, tp.SIGNEDINT,
    tp.UNSIGNEDINT})
_UNINDEXED: Final = frozenset({tp.SPACE, tp.TAG, tp.PROTOCOL, tp.XMLENTITY})
# Tokens this module does not map (word, hword, hword_part need non-ASCII letters,
# which are declined before parsing): meeting one is a bug, and declines.

#: A run that is one word or one number with only plain punctuation around it (the
#: common case), which the parser reads as that token and blanks: no parse needed. Its
#: leading marks are read as a blank whatever follows; its trailing ones end the token
#: and are read as a blank (a "." is followed by neither "." nor "/", which would
#: make a file, and no mark starts a URL, email, host or hyphenated word).
#: ``test_plain_runs_skip_the_parser_and_get_what_the_parser_gives`` holds this to the
#: port.
_SIMPLE_RUN: Final = re.compile(
    r"[(\[\"'^$#*]*([A-Za-z]+|[0-9]+)(?:[)\]\"',;:!?%*^]|\.(?![./]))*")

# A run's lexemes in order, each as its literal's head ("'lexeme':"), "" for a stop
# word (it takes a position all the same).
_Keys = tuple[str, ...]
# Shared by the process's threads: a dict's get and set are atomic, and a race on the
# clear at the limit only costs a parse again.
_CACHE: dict[str, _Keys] = {}
_CACHE_LIMIT: Final = 100_000
_FIRST: Final = "\x00"  # marks a text's first run in the cache (no text holds NUL)
_POSITIONS: Final = tuple(str(n) for n in range(_MAX_TOKENS + 1))


def english_tsvector(text: str) -> str | None:
    """A tsvector literal equal (as a tsvector, after PostgreSQL parses it) to
    to_tsvector('english', text), or None where this module cannot be sure.

    Each lexeme is one entry with its positions (``'plan':3,9``), unsorted: grouping
    the positions costs this module about what writing an entry per occurrence did,
    and saves PostgreSQL's input parsing each occurrence and merging them (about a
    third of its CPU for the literals, measured: docs/BENCHMARKS.md); sorting the
    entries is left to that input, in C."""
    found = _lexemes(text)
    return None if found in _REASONS else found


def decline_reason(text: str) -> str | None:
    """Why :func:`english_tsvector` returns None for ``text`` (one of ``letters``,
    ``control``, ``tag``, ``long``, ``size``, ``token``), or None when it does not."""
    found = _lexemes(text)
    return found if found in _REASONS else None


_REASONS: Final = frozenset({"letters", "control", "tag", "long", "size", "token"})


def _lexemes(text: str) -> str:
    """The literal, or the reason to decline (one of :data:`_REASONS`)."""
    ascii_text = text if text.isascii() else _BLANK.sub("^", text)
    bad = _NOT_ALLOWED.search(ascii_text)
    if bad is not None:
        return "letters" if bad.group() > "\x7f" else "control"
    if "<" in ascii_text and _TAG.search(ascii_text) is not None:
        return "tag"
    runs = ascii_text.split()
    if runs and not ascii_text[0].isspace():
        # The text's first run is read from the parser's start state, not after a
        # blank ("~x" or "..": a file there, a blank and a word or nothing after one).
        runs[0] = _FIRST + runs[0]
    cache = _CACHE
    found = list(map(cache.get, runs))
    if None in found:
        for index, keys in enumerate(found):
            if keys is None:
                parsed = _parse_run(runs[index])
                if isinstance(parsed, str):
                    return parsed
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[runs[index]] = found[index] = parsed
    flat = list(chain.from_iterable(found))  # type: ignore[arg-type]  # no None left
    if len(flat) > _MAX_TOKENS:
        return "size"
    entries: dict[str, list[str]] = {}
    for position, key in zip(_POSITIONS[1:len(flat) + 1], flat, strict=True):
        if key:  # a stop word ("") takes a position, gives no entry
            at = entries.get(key)
            if at is None:
                entries[key] = [position]
            else:
                at.append(position)
    if len(flat) > _MAX_POSITIONS and max(map(len, entries.values()), default=0) > _MAX_POSITIONS:
        return "size"
    return " ".join([key + ",".join(at) for key, at in entries.items()])


def _parse_run(run: str) -> _Keys | str:
    """The lexemes of one whitespace-free run, parsed as PostgreSQL parses it after a
    blank (or, marked ``_FIRST``, at the start of the text), or the reason to
    decline."""
    first = run.startswith(_FIRST)
    if first:
        run = run[1:]
    if len(run) > _LONG_RUN:
        return "long"  # some token of it is long, or it is thousands of them: not parsed
    simple = _SIMPLE_RUN.fullmatch(run)
    if simple is not None:
        token = simple.group(1)
        kind = tp.UNSIGNEDINT if token[0].isdigit() else tp.ASCIIWORD
        return _keys([(kind, token)])
    return _keys(tp.tokens(run if first else " " + run))


def _keys(tokens: Iterable[tuple[int, str]]) -> _Keys | str:
    out: list[str] = []
    for kind, token in tokens:
        if kind in _UNINDEXED:
            if kind == tp.TAG:
                return "tag"
            continue
        if len(token) >= _LONG:
            return "long"
        lower = token.lower()
        if kind in _STEMMED:
            out.append("" if lower in english.STOP_WORDS
                       else f"'{_quote(english.stem_token(lower))}':")
        elif kind in _SIMPLE:
            out.append(f"'{_quote(lower)}':")
        else:
            return "token"
    return tuple(out)


def _quote(lexeme: str) -> str:
    if "'" in lexeme or "\\" in lexeme:
        return lexeme.replace("\\", "\\\\").replace("'", "''")
    return lexeme


#: A text of our own (no member data) exercising every token kind the function
#: handles and the stems where Snowball versions differ, for a start-up check
#: against the database it writes to.
CALIBRATION: Final = "\n".join([
    "Calibration of the worker's tsvector: the members' out-of-pocket costs, "
    "co-payments and cost-sharing for 2 emergencies at an organization's hospitals.",
    "Call 1-800-633-4227 (TTY 711), 8 a.m. to 8:00 p.m., e.g. on Mondays; "
    "$7,000.50 or 20% and/or 3.5 units; version 1.2.3, -4.5e-3, +12, 1e5 and 0.5e+2.",
    "Write to help@example.org or visit www.example.gov/help/claims-form.pdf, "
    "https://example.com:8080/a/b?c=d&e=f, Example.com and ftp://files.example.net.",
    "Files ../notes, ~/plan/summary.txt, /usr/local and C19-covid-19 tier-2 drugs, "
    "COVID-19, 90-day supply, H5425-075 plan, 2nd floor, Y0057_SCAN_2025 &amp; 1 < 2.",
    "Cardiologists, internal universal lateral interring pasted generously dying "
    "vying on evenings, skies news sky ski's, added egging erring offing ... the end.",
    "Punctuation read as blanks: " + " x".join(BLANKS) + " x.",
])
