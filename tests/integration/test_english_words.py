"""Python's notion of a word is PostgreSQL's: the stemmer and stop list agree with
``to_tsvector('english', ...)`` on every word of the corpus's 232-page booklet.

Search's highlights, keyword scoring in memory and the extractive answerer read words
through ``adapters/english.py``; the database reads them through its ``english``
configuration. Each distinct word of the booklet (as ``english.WORD`` finds them)
goes to the database alone, and the lexeme it returns (none for a stop word) must be
the one Python computes.
"""

from __future__ import annotations

import asyncpg
import pytest
from english_words import get_english_words_set

from adapters import english
from adapters.parsers.pdf import parse_pdf
from tests.corpus import corpus_bytes

pytestmark = pytest.mark.postgres


def _vocabulary() -> set[str]:
    pages = parse_pdf(corpus_bytes("scan_classic_hmo.pdf"))
    return {word.lower() for page in pages for word in english.WORD.findall(page.markdown)}


async def _postgres_lexemes(conn: asyncpg.Connection, words: list[str]) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT w, coalesce(array_to_string(tsvector_to_array("
        "to_tsvector('english'::regconfig, w)), ' '), '') AS lexemes "
        "FROM unnest($1::text[]) AS w", words)
    return {row["w"]: row["lexemes"] for row in rows}


async def test_every_word_of_the_booklet_is_the_lexeme_postgresql_makes_of_it(
    conn: asyncpg.Connection,
) -> None:
    vocabulary = sorted(_vocabulary())
    assert len(vocabulary) > 4000  # the whole booklet, not a sample

    theirs = await _postgres_lexemes(conn, vocabulary)

    differ = {word: (english.lexeme(word) or "", theirs[word]) for word in vocabulary
              if (english.lexeme(word) or "") != theirs[word]}
    assert not differ, f"{len(differ)} of {len(vocabulary)} words differ: " + \
        ", ".join(f"{w}: ours {o!r}, PostgreSQL {p!r}" for w, (o, p) in list(differ.items())[:20])


async def test_every_word_of_an_english_dictionary_is_the_lexeme_postgresql_makes_of_it(
    conn: asyncpg.Connection,
) -> None:
    """Beyond one booklet's words: Webster's second edition's 234,000 (the
    ``english-words`` package), where a stemmer release's changed rule shows up whatever
    the documents a member uploads ("evening": "even" to PostgreSQL 18, "evening" to
    Snowball 3.x)."""
    # words, as english.WORD finds them (two hyphenated names are not one word to it)
    vocabulary = sorted(w for w in get_english_words_set(["web2"], lower=True) if w.isalpha())
    assert len(vocabulary) > 200_000

    theirs = await _postgres_lexemes(conn, vocabulary)

    differ = {word: (english.lexeme(word) or "", theirs[word]) for word in vocabulary
              if (english.lexeme(word) or "") != theirs[word]}
    assert not differ, f"{len(differ)} of {len(vocabulary)} words differ: " + \
        ", ".join(f"{w}: ours {o!r}, PostgreSQL {p!r}" for w, (o, p) in list(differ.items())[:20])


async def test_stop_words_and_stems_agree_on_the_words_that_matter_to_members(
    conn: asyncpg.Connection,
) -> None:
    words = ["services", "appealing", "copayments", "hospitalization", "the", "what",
             "emergency", "ambulances", "premium", "generously", "dying", "added",
             # where Snowball 3.x stems otherwise than the 2.2 PostgreSQL compiles in
             "emergencies", "organization", "internal", "international", "interring",
             "lateral", "cardiologists", "universal", "pasted", "evening", "evenings",
             "vying"]

    theirs = await _postgres_lexemes(conn, words)

    assert {w: english.lexeme(w) or "" for w in words} == theirs
    assert theirs["the"] == theirs["what"] == ""
    assert english.lexemes("Copayments for ambulance services") == \
        english.lexemes("copayment ambulances service")
