"""What the worker supplies as a chunk's tsvector is what PostgreSQL 18 computes, or
nothing: ``english_tsvector(text)`` is None or equal, as a tsvector, to
``to_tsvector('english', text)`` (the oracle: the test suite's embedded server).

Checked on every chunk of the corpus's documents as the worker chunks them, on text
drawn by hypothesis from the characters that steer PostgreSQL's parser, and on the
calibration text a start-up check compares.
"""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.postgres.connection import connect
from adapters.postgres.tsvector import CALIBRATION, decline_reason, english_tsvector
from bench.tsvector import BOOKLET, corpus_chunks, per_occurrence
from tests.corpus import CORPUS_DIR

pytestmark = pytest.mark.postgres

# One row per supplied literal: is it PostgreSQL's tsvector of the text?
_EQUAL = ("SELECT n, l::tsvector = to_tsvector('english'::regconfig, t) AS equal "
          "FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(l, t, n)")

#: The booklet's chunks this module may decline: its one-page notice of interpreter
#: services in 15 languages runs over 15 chunks (4.8 %) of other scripts and accented
#: letters; every other chunk is supplied.
BOOKLET_DECLINED_AT_MOST = 15


async def _differing(conn: asyncpg.Connection, texts: list[str]) -> list[int]:
    """Indexes of the texts whose supplied literal is not PostgreSQL's tsvector."""
    supplied = [(i, english_tsvector(text), text) for i, text in enumerate(texts)]
    supplied = [row for row in supplied if row[1] is not None]
    rows = await conn.fetch(_EQUAL, [row[1] for row in supplied], [row[2] for row in supplied])
    assert len(rows) == len(supplied)
    return [supplied[row["n"] - 1][0] for row in rows if not row["equal"]]


async def test_every_chunk_of_the_corpus_is_supplied_as_postgresql_computes_it_or_declined(
    conn: asyncpg.Connection,
) -> None:
    documents = corpus_chunks(CORPUS_DIR)
    texts = [text for chunks in documents.values() for text in chunks]
    assert len(documents[BOOKLET]) > 300  # the whole booklet

    differing = await _differing(conn, texts)

    # No text in the message: which chunks, and why the others were declined.
    assert not differing, f"chunks {differing} of {len(texts)} differ from PostgreSQL"
    declined = [decline_reason(text) for text in documents[BOOKLET]]
    assert sum(reason is not None for reason in declined) <= BOOKLET_DECLINED_AT_MOST
    assert set(declined) <= {None, "letters"}
    assert english_tsvector(documents["simulated_insurance_document.pdf"][0]) is not None


# The characters PostgreSQL's parser turns on, a few letters and digits (including the
# "e" of a number's exponent and the "x" of a hex entity), and non-ASCII: punctuation
# read as blanks, an accented letter and a no-break space (both declined).
_TRICKY = st.text(st.sampled_from(list(
    "abexyzE019 \n-.,/@:'_+&;<>%$#()~!?=\"\\[]*^\t"
    "\u2019\u201c\u2022\u2013\u2026\u00e9\u00a0")), max_size=40)
# And pieces of the shapes the parser builds tokens from (hosts, URLs, emails, files,
# numbers, entities, hyphens), joined at random.
_PIECES = st.lists(st.sampled_from([
    "www", "example", "com", "gov", ".", "..", "/", "//", "http", "https", ":", "://",
    "@", "-", "--", "_", "~", "1", "23", "4.5", "e", "E3", "e-5", "x", "the", "of", " ",
    "\n", "?", "=", "&", ";", "#", "%", ",", "'", "\u2019", "(", ")", "+", "amp", "&#",
    "&#x", "8080", "a1b", "v2", "<", ">", "\u00e9"]), max_size=25).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(_TRICKY, _PIECES), min_size=1, max_size=40))
def test_tricky_text_is_supplied_as_postgresql_computes_it_or_declined(
    postgres_dsn: str, texts: list[str],
) -> None:
    async def check() -> list[int]:
        conn = await connect(postgres_dsn)
        try:
            return await _differing(conn, texts)
        finally:
            await conn.close()

    differing = asyncio.run(check())

    assert not differing, f"{[texts[i] for i in differing]} differ from PostgreSQL"


_ALPHABET = list("abexyzE019 \n-.,/@:'_+&;<>%$#()~!?=\"[]*^\u2019\u2022\u2013")
_FRAGMENTS = ["www", "example", "com", ".", "..", "/", "//", "https", ":", "://", "@", "-",
              "_", "~", "1", "23", "4.5", "e", "E3", "e-5", "x", "the", " ", "?", "=", "&",
              ";", "#", "%", ",", "'", "(", "+", "amp", "&#", "8080", "a1b", "<", ">"]


async def test_sixty_thousand_random_texts_are_supplied_as_postgresql_computes_them(
    conn: asyncpg.Connection,
) -> None:
    """Many more draws than hypothesis makes above, checked in three statements: random
    strings of the parser's characters, and random joins of token-shaped pieces (a
    fixed seed: the same texts every run)."""
    draw = random.Random(19)
    texts = ["".join(draw.choices(_ALPHABET, k=draw.randint(1, 40))) for _ in range(30_000)]
    texts += ["".join(draw.choices(_FRAGMENTS, k=draw.randint(1, 20)))
              for _ in range(30_000)]

    differing = await _differing(conn, texts)

    assert not differing, f"{len(differing)} differ, e.g. {[texts[i] for i in differing[:5]]}"
    assert sum(english_tsvector(text) is not None for text in texts) > 40_000


async def test_the_calibration_text_is_supplied_and_is_what_this_database_computes(
    conn: asyncpg.Connection,
) -> None:
    supplied = english_tsvector(CALIBRATION)
    assert supplied is not None

    assert await conn.fetchval(
        "SELECT $1::tsvector = to_tsvector('english'::regconfig, $2)", supplied, CALIBRATION)


async def test_a_lexeme_at_255_positions_is_supplied_and_at_256_declined(
    conn: asyncpg.Connection,
) -> None:
    assert await _differing(conn, ["plan " * 255, "the plan " * 255]) == []
    assert english_tsvector("plan " * 256) is None


async def test_each_blank_is_a_blank_to_this_database(conn: asyncpg.Connection) -> None:
    """Every non-ASCII mark the module reads as a blank separates two words and takes
    no position, between letters, after a number and before a hyphen."""
    from adapters.postgres.tsvector import BLANKS

    texts = [form.format(mark) for mark in BLANKS
             for form in ("word{}word", "12{}34", "x{}-5", "www.example.com{}/path")]

    assert await _differing(conn, texts) == []


async def test_the_benchmarks_entry_per_occurrence_form_is_the_same_tsvector(
    conn: asyncpg.Connection,
) -> None:
    # bench.tsvector times PostgreSQL reading both forms: they must be one tsvector
    texts = ["The plan pays; the plan's plan pays again at www.medicare.gov/it's x y x",
             *corpus_chunks(CORPUS_DIR)[BOOKLET][:40]]
    literals = [lit for lit in map(english_tsvector, texts) if lit]
    expanded = list(map(per_occurrence, literals))
    assert expanded[0].count("'plan':") == 3 and literals[0].count("'plan':") == 1
    assert await conn.fetchval(
        "SELECT bool_and(a::tsvector = b::tsvector) FROM unnest($1::text[], $2::text[]) "
        "AS u(a, b)", literals, expanded)
