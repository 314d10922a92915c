"""One notion of an English word, the one PostgreSQL's ``english`` configuration has.

Search's highlights, keyword scoring in memory, the hashing embedder's stop list and
the extractive answerer all read words through this module, so a word means the same
to each of them as it does to ``to_tsvector('english', ...)`` on the database:

- a word is a run of letters and digits (PostgreSQL's parser also splits at
  apostrophes and hyphens; it additionally keeps a hyphenated word whole, which
  this module does not);
- it is lowercased; one of PostgreSQL's ``english.stop`` words (:data:`STOP_WORDS`)
  is no word at all;
- a word of letters only is stemmed by Snowball's English stemmer (the
  ``snowballstemmer`` package, pinned: the same algorithm, from the same project, that
  PostgreSQL's ``english_stem`` dictionary compiles in, less what the package's 3.x
  changed since, undone below); a word holding a digit is kept as it is
  (PostgreSQL's ``simple`` dictionary for numbers and mixed words).

``tests/integration/test_english_words.py`` holds this to ``to_tsvector`` on every
word of the corpus's 232-page booklet and of an English dictionary (234,000 words).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator

import snowballstemmer

_ENGLISH_STOP = """
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
she her hers herself it its itself they them their theirs themselves what which who whom
this that these those am is are was were be been being have has had having do does did
doing a an the and but if or because as until while of at by for with about against between
into through during before after above below to from up down in out on off over under again
further then once here there when where why how all any both each few more most other some
such no nor not only own same so than too very s t can will just don should now
"""
#: PostgreSQL's english.stop, as shipped.
STOP_WORDS = frozenset(_ENGLISH_STOP.split())

#: A word: letters and digits (``_`` is a word character to ``\w``, not to PostgreSQL).
WORD = re.compile(r"[^\W_]+", re.UNICODE)

# A Snowball stemmer keeps the word it works on in itself: one call at a time.
_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()

# PostgreSQL 18 compiles in a Snowball English from before the package's 3.0, which
# changed four things PostgreSQL does not have (the agreement tests find exactly these):
# - six more prefixes read as one syllable ("emergency" stems to "emergenc", where
#   PostgreSQL has "emerg"). A word starting with one is stemmed with its first letter
#   swapped for another of the same kind (vowel for vowel, consonant for consonant),
#   which the rules treat alike, and the letter put back;
# - "-ogist" becomes "-og" ("cardiologists": "cardiolog", PostgreSQL "cardiologist");
# - "evening" is kept whole (PostgreSQL: "even");
# - a consonant and "ying" becomes the consonant and "ie" ("vying": "vie", PostgreSQL
#   "vy"), where PostgreSQL knows only "dying", "lying" and "tying".
# With the four undone, an English dictionary's 234,000 words agree with PostgreSQL 18.
_NEWER_PREFIXES = {"emerg": "a", "inter": "a", "later": "b", "organ": "a", "past": "b",
                   "univers": "a"}
_OLDER_WHOLE = {"evening": "even", "evenings": "even"}
_CONSONANT_YING = re.compile(r"[^aeiouy]ying")
_YING_KNOWN = frozenset({"dying", "lying", "tying"})


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """The lexeme ``to_tsvector('english', word)`` gives one word that is not a stop
    word: lowercased, and Snowball-stemmed when it is letters only."""
    lower = word.lower()
    if not lower.isalpha():
        return lower
    return stem_token(lower)


@functools.lru_cache(maxsize=1 << 16)
def stem_token(lower: str) -> str:
    """PostgreSQL's ``english_stem`` of a lowercased token that is not a stop word,
    letters only or not (``to_tsvector`` stems a hyphenated word whole, hyphens in)."""
    if lower in _OLDER_WHOLE:
        return _OLDER_WHOLE[lower]
    if _CONSONANT_YING.fullmatch(lower) and lower not in _YING_KNOWN:
        return lower[0] + "y"
    if lower.endswith(("ogist", "ogists")):
        return lower.removesuffix("s")  # no older rule touches "-ogist"
    for prefix, stand_in in _NEWER_PREFIXES.items():
        if lower.startswith(prefix):
            return lower[0] + _snowball(stand_in + lower[1:])[1:]
    return _snowball(lower)


def _snowball(word: str) -> str:
    with _STEMMER_LOCK:
        return str(_STEMMER.stemWord(word))


def lexeme(word: str) -> str | None:
    """``word`` as PostgreSQL indexes it, or None for a stop word."""
    lower = word.lower()
    return None if lower in STOP_WORDS else stem(lower)


def words(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, lexeme) of each word of ``text`` that is not a stop word."""
    for match in WORD.finditer(text):
        found = lexeme(match.group())
        if found is not None:
            yield match.start(), match.end(), found


def lexemes(text: str) -> frozenset[str]:
    """The distinct lexemes of ``text``: what it can be found by."""
    return frozenset(found for _, _, found in words(text))
