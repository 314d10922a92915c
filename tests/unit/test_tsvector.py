"""The worker's ``to_tsvector('english', ...)``: the lexemes and positions PostgreSQL 18
gives, token kind by token kind, or None where the module cannot be sure.

Every expected literal below is what PostgreSQL 18 returned for the sentence
(``SELECT to_tsvector('english', ...)::text``), written out once; the agreement with
the database itself is tests/integration/test_tsvector_agreement.py.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.postgres import ts_parser
from adapters.postgres import tsvector as tv
from adapters.postgres.tsvector import CALIBRATION, decline_reason, english_tsvector

_ENTRY = re.compile(r"'((?:[^']|'')*)':([0-9,]+)")


def parsed(literal: str) -> dict[str, set[int]]:
    """A tsvector literal as PostgreSQL reads it: lexeme -> positions (order free, a
    lexeme's entries merged)."""
    found: dict[str, set[int]] = {}
    for m in _ENTRY.finditer(literal):
        found.setdefault(m.group(1).replace("''", "'"), set()).update(
            int(p) for p in m.group(2).split(","))
    assert " ".join(m.group() for m in _ENTRY.finditer(literal)) == literal.strip()
    return found


POSTGRES_SAYS = {
    # asciiword (stemmed; stop words take a position), asciihword and its parts
    "The members' out-of-pocket costs":
        "'cost':7 'member':2 'out-of-pocket':3 'pocket':6",
    # uint, int (a phone number's groups), file ("a.m"), blanks taking no position
    "Call 1-800-633-4227 (TTY 711), 8 a.m. to 8:00 p.m.":
        "'-4227':5 '-633':4 '-800':3 '00':12 '1':2 '711':7 '8':8,11 'a.m':9 'call':1 "
        "'p.m':13 'tti':6",
    # float, a file of words ("and/or")
    "$7,000.50 or 20% and/or 3.5": "'000.50':2 '20':4 '3.5':6 '7':1 'and/or':5",
    # url, host, url_path
    "Visit www.medicare.gov/plan-compare or Medicare.gov today.":
        "'/plan-compare':4 'medicare.gov':6 'today':7 'visit':1 'www.medicare.gov':3 "
        "'www.medicare.gov/plan-compare':2",
    # email
    "Write to help@example.org.": "'help@example.org':3 'write':1",
    # protocol (not indexed), a host with its port, a query in the path
    "See https://www.example.com:8080/a/b?c=d&e=f now":
        "'/a/b?c=d&e=f':4 'see':1 'www.example.com:8080':3 "
        "'www.example.com:8080/a/b?c=d&e=f':2",
    # version, sfloat (signed, and unsigned), a signed int
    "version 1.2.3, -4.5e-3, +12 and 1e5":
        "'+12':4 '-4.5e-3':3 '1.2.3':2 '1e5':6 'version':1",
    # a word then a signed int (not a hyphenated word), numword
    "COVID-19 vaccines, a 90-day supply, tier-2 drugs and H5425-075":
        "'-075':13 '-19':2 '-2':9 '90':5 'covid':1 'day':6 'drug':10 'h5425':12 "
        "'suppli':7 'tier':8 'vaccin':3",
    # file paths
    "Files ../notes and ~/plan/summary.txt": "'/notes':2 '/plan/summary.txt':4 'file':1",
    # underscores split a numword from words and numbers
    "Y0057_SCAN_2025 and 2nd floor": "'2025':3 '2nd':5 'floor':6 'scan':2 'y0057':1",
    # curly quotes, bullet, dash, ellipsis: blanks
    "Don\u2019t miss the plan\u2019s \u201cextra help\u201d \u2022 benefits \u2013 today\u2026":
        "'benefit':9 'extra':7 'help':8 'miss':3 'plan':5 'today':10",
    # entities and a "<" that starts no tag: blanks
    "AT&amp;T 1 < 2 &#38; x": "'1':3 '2':4 'x':5",
    # where the Snowball package is newer than PostgreSQL's
    "emergencies at international organizations": "'emerg':1 'intern':3 'organ':4",
    # a URL path may hold an apostrophe: quoted in the literal
    "www.example.com/it's here":
        "'/it''s':3 'www.example.com':2 'www.example.com/it''s':1",
    # a file only at the very start of the text; after a blank, a word
    "~home at the start": "'start':4 '~home':1",
    " ~home": "'home':1",
    ".. and ...": "'..':1",
    "the of and": "",
    "": "",
}


@pytest.mark.parametrize("text", list(POSTGRES_SAYS))
def test_each_token_kind_gives_the_lexemes_and_positions_postgresql_gives(text: str) -> None:
    ours = english_tsvector(text)

    assert ours is not None
    assert parsed(ours) == parsed(POSTGRES_SAYS[text])


@pytest.mark.parametrize(("text", "reason"), [
    ("M\u00e9dicaments", "letters"),  # an accented letter: its class is the locale's
    ("\u8aaa\u660e", "letters"),
    ("a\u00a0b", "letters"),  # a no-break space: not one of the blanks proven
    ("<b>bold</b>", "tag"),
    ("x <script>y</script> z", "tag"),
    ("a <!-- b --> c", "tag"),
    ("bell\x07", "control"),
    ("x" * 300, "long"),
    ("https://example.com/" + "a" * 300, "long"),
    ("word " * 4001, "size"),
    ("plan " * 256, "size"),  # PostgreSQL keeps 255 of a lexeme's positions
])
def test_what_it_cannot_be_sure_of_is_declined_with_a_reason(text: str, reason: str) -> None:
    assert english_tsvector(text) is None
    assert decline_reason(text) == reason


def test_a_run_far_longer_than_any_token_is_declined_before_it_is_parsed() -> None:
    # 300 short words joined by commas: no token is long, the run is (2,289 characters)
    assert decline_reason("see " + ",".join(f"plan{i}" for i in range(300))) == "long"
    assert decline_reason("see " + ",".join(f"plan{i}" for i in range(100))) is None


def test_each_lexeme_is_one_entry_with_its_positions_in_order() -> None:
    # what PostgreSQL's input would otherwise parse and merge once per occurrence;
    # 255 positions of one lexeme are kept, and a text of only stop words has none
    assert english_tsvector("plan and plans or plan") == "'plan':1,3,5"
    assert english_tsvector("plan " * 255) == "'plan':" + ",".join(map(str, range(1, 256)))
    assert english_tsvector("the " * 300) == ""


def test_a_supplied_text_is_equal_however_often_and_wherever_it_is_computed() -> None:
    text = "Your plan\u2019s out-of-pocket maximum is $7,550 (see www.medicare.gov)."

    first = english_tsvector(text)
    assert first is not None
    assert english_tsvector(text) == first
    assert parsed(english_tsvector("Intro. " + text) or "") == {
        "intro": {1}, **{lexeme: {p + 1 for p in at} for lexeme, at in parsed(first).items()}}


def test_the_calibration_text_is_supplied_and_covers_every_blank_and_token_kind() -> None:
    assert english_tsvector(CALIBRATION) is not None
    assert all(blank in CALIBRATION for blank in tv.BLANKS)
    kinds = {kind for run in CALIBRATION.split() for kind, _ in ts_parser.tokens(" " + run)}
    handled = {ts_parser.ASCIIWORD, ts_parser.NUMWORD, ts_parser.EMAIL, ts_parser.URL,
               ts_parser.HOST, ts_parser.SCIENTIFIC, ts_parser.VERSIONNUMBER,
               ts_parser.NUMPARTHWORD, ts_parser.ASCIIPARTHWORD, ts_parser.SPACE,
               ts_parser.PROTOCOL, ts_parser.NUMHWORD, ts_parser.ASCIIHWORD,
               ts_parser.URLPATH, ts_parser.FILEPATH, ts_parser.DECIMAL,
               ts_parser.SIGNEDINT, ts_parser.UNSIGNEDINT, ts_parser.XMLENTITY}
    assert handled <= kinds


_RUN_ALPHABET = st.sampled_from(list("aeEzZ09.,;:!?%*^$#()[]\"'-/@_+&~<>="))


_MARKS = st.text(st.sampled_from(list(".:/-@_~+&<,;!?%*^$#()[]\"'")), max_size=4)
_CORE = st.text(st.sampled_from(list("abeEz09")), min_size=1, max_size=5)
# Mostly runs shaped like the plain ones (marks, a word or number, marks), then any.
_RUNS = st.one_of(st.builds(lambda a, b, c: a + b + c, _MARKS, _CORE, _MARKS),
                  st.builds(lambda a, b: a + b, _CORE, _MARKS),
                  st.text(_RUN_ALPHABET, min_size=1, max_size=12))


@settings(max_examples=500, deadline=None)
@given(_RUNS)
@example("a..")  # a file ("..") after the word
@example("a./")
@example("a://")  # a protocol: the word is not indexed
@example("a:/")
@example("1.e")
@example("a.b")
@example("1-2")
@example("a-b")
@example("a@b.c")
@example("1e5")
@example("(a);")
@example("~a")
@example(".a")
def test_plain_runs_skip_the_parser_and_get_what_the_parser_gives(run: str) -> None:
    through_the_parser = tv._keys(ts_parser.tokens(" " + run))
    at_the_start = tv._keys(ts_parser.tokens(run))

    assert tv._parse_run(run) == through_the_parser
    assert tv._parse_run(tv._FIRST + run) == at_the_start
