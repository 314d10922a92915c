"""The ``Answerer`` port with no language model: an extractive answer, offline.

It reads like a careful person with a highlighter: it works out what kind of answer
the question wants (``domain.questions``: an amount, a phone number, a count, a time,
yes/no coverage, a procedure), then quotes, verbatim, the sentence or benefit-chart
row of the passages that holds a value of that kind *and* the question's key words,
close together, each quoted line cited ``[n]``, under a first line that says the
answer is extracted, not generated.

- **Sentences and chart rows.** A passage's lines are joined until a sentence ends
  (a PDF breaks a sentence, or a chart cell such as "$180 copayment for each /
  one-way trip.", across lines), then split at sentence ends; bullets start a new one.
- **Close together.** A sentence's score counts the question's key words it holds,
  plus, worth less, those of the few sentences just before it (a chart row's service
  name stands above the cost) and just after it. When the key words come from a
  sentence before, that sentence is quoted first, so the member sees what the value
  belongs to.
- **The right kind of value.** A sentence holding a value of the kind asked for
  scores more; for amounts, phone numbers, counts and times it is required: an amount
  question is never answered with a sentence that names no amount.
- **Honest.** When no sentence holds the value (where one is required) and at least
  half the question's key words, the answer is the "not covered" marker the
  grounding rules understand. A passage's text is only ever quoted, never obeyed.
- **Each fact once.** The same sentence in two passages (two copies of a document,
  or the overlap of two chunks) is quoted once, citing the better-ranked passage;
  when another document holds it too, the line says which copy it quotes and that
  the other says the same.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import AsyncIterator, Sequence

import attrs

from adapters import english
from adapters.text_search import EnglishWords
from domain.grounding import NOT_COVERED_MARKER, AnswerKind, GroundedPrompt, Passage, Usage
from domain.lay_terms import LayTerms
from domain.questions import Wants, asking, holds_value, needs_value, wants

HEADER = "Extracted from your documents (quoted, not generated):"

#: A run of joined lines longer than this starts a new one at the next line.
LONG_RUN = 1500
#: A sentence longer than this is not quoted to say what a value belongs to.
LONG_SENTENCE = 400
#: How many sentences before (and after) a sentence count as close to it.
BEFORE, AFTER = 8, 1
#: A value sentence this short right after the one quoted is quoted too (a chart cell's
#: next tier: "$0 copayment per day for days 1-20." then "$75 ... for days 21-100.").
SHORT_VALUE = 160
#: What a key word in a sentence close by is worth, against one in the sentence.
NEARBY_WEIGHT = 0.6
#: What holding a value of the kind asked for is worth.
VALUE_WEIGHT = 1.5
#: A sentence scoring at least this share of the best one's is quoted after it (up to
#: ``max_sentences`` lines): a member reads a few close sentences more surely than one.
RUNNER_UP = 0.5
#: What a sentence made mostly of key words (a short, to-the-point one) may add.
DENSITY_WEIGHT = 1.0
#: What a key word held anywhere else in the passage is worth (what it is about).
PASSAGE_WEIGHT = 0.3
#: What a key word among a sentence's first words is worth (the sentence is about it).
SUBJECT_WEIGHT = 0.5
#: What a booklet word the lay-terms glossary adds for the member's phrase is worth,
#: against one of the member's words: enough to choose between sentences the member's
#: words score alike ("cap on what I spend": the "maximum out-of-pocket" one).
BOOKLET_TIE = 0.1
#: What a piece of a sentence (cut by a page or a chunk) loses.
FRAGMENT_PENALTY = 0.5

# A line starting a list item, or a contact table's row ("CALL 1-800-...", "TTY 711").
_BULLET = re.compile(
    r"^(?:[-*#|\u2022\u25e6\u25aa\u25cf\uf0b7]|\d{1,2}[.)]\s|[A-Z]{2,}\b(?![a-z]))")
# A contact table's row ("CALL 1-800-...", "TTY 711"): one line, apart from the next.
_ROW = re.compile(r"^[A-Z]{2,}\b(?![a-z])")
# A web address a line break cut after one of its dots ("www.scanhealthplan." / "com/...").
_WEB_ADDRESS = re.compile(r"(?:https?://|www\.)\S*\.$")
_ENDED = re.compile(r"[.!?:][\"'\u201d\u2019)]*$")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9$\u2022\"\u201c(])|"
                    r"(?<=[.!?][\"'\u201d\u2019)])\s+(?=[A-Z0-9$\u2022\"\u201c(])")
_ABBREVIATION = re.compile(r"(?:\b[A-Za-z]\.){1,3}$|\b(?:Mr|Mrs|Ms|Dr|St|No|Inc|etc|vs|Jr|"
                           r"Sr|Sec|Ch|approx|e\.g|i\.e)\.$")

# Words that say what kind of answer is wanted, or nothing about which passage holds
# it: not key words (stop words are not words at all).
_GENERIC = """
plan plans cover covered coverage covers pay paid pays payment cost costs much many copay
copays copayment copayments coinsurance price charge charged owe spend number numbers phone
call reach contact get gets got need needs want know tell please often long quick quickly
fast soon time times way also would could us one kind sort much amount insurance document
documents say says deadline due hours open
"""
_GENERIC_LEXEMES = english.lexemes(_GENERIC)


def sentences(text: str) -> list[str]:
    """The sentences (or list items, or chart cells) of ``text``, one line each."""
    runs: list[str] = []
    current, joined = "", 0
    for line in text.splitlines():
        flat = " ".join(line.split())
        if not flat:
            if current:
                runs.append(current)
            current, joined = "", 0
            continue
        if current and (_BULLET.match(flat) or (_ENDED.search(current) and
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
            flat = piece.lstrip("#*-|\u2022\u25e6\u25aa\u25cf\uf0b7 ").strip()
            if len(flat) > 3:
                found.append(flat)
    return found


def key_terms(question: str) -> frozenset[str]:
    """The question's words that say what it is about (not what kind of answer)."""
    every = english.lexemes(question)
    return (every - _GENERIC_LEXEMES) or every


def booklet_terms(question: str) -> frozenset[str]:
    """The booklet's words for the question's phrases ("cap on what I spend": "maximum
    out-of-pocket amount"; ``domain/lay_terms.py``)."""
    return english.lexemes(_glossary().expansion(question)) - _GENERIC_LEXEMES


@functools.cache
def _glossary() -> LayTerms:
    return LayTerms.of(EnglishWords())


def _weights(key: frozenset[str], units: Sequence[frozenset[str]]) -> dict[str, float]:
    """Each key word's weight: rarer among the passages' sentences, heavier (idf)."""
    total = len(units)
    return {term: max(0.2, math.log((total + 1) / (sum(term in u for u in units) + 0.5)))
            for term in key}


@attrs.frozen
class _Candidate:
    score: float
    rank: int
    position: int
    text: str
    passage: Passage
    lead: str | None  # the sentence before that names what the value belongs to
    following: str | None  # the next value of the same chart cell ("days 21-100")


class ExtractiveAnswerer:
    """Offline answers: the sentences that hold what the question asks for, quoted and
    cited."""

    kind = AnswerKind.EXTRACTED
    model = "extractive"

    def __init__(self, max_sentences: int = 3) -> None:
        if max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self.max_sentences = max_sentences

    def __repr__(self) -> str:
        return f"ExtractiveAnswerer(max_sentences={self.max_sentences})"

    async def stream(self, prompt: GroundedPrompt) -> AsyncIterator[str | Usage]:
        chosen = self.choose(prompt.question, prompt.passages)
        if not chosen:
            yield NOT_COVERED_MARKER
            yield Usage()
            return
        yield HEADER
        for line in chosen:
            yield f"\n- {line}"
        yield Usage()

    def choose(self, question: str, passages: Sequence[Passage]) -> list[str]:
        """The answer's lines, best first, each ending in its citation; empty when no
        passage answers."""
        kind = wants(question)
        key = key_terms(question)
        # A question told as a story is answered by what it asks: half the words of
        # its asking sentence must be held; the story's words only rank.
        asked = key_terms(asking(question)) & key or key
        needed = max(1, math.ceil(len(asked) / 2))
        booklet = booklet_terms(question) - key  # they break ties; never needed
        key |= booklet
        split = [sentences(p.text) for p in passages]
        held = [[key & english.lexemes(unit) for unit in units] for units in split]
        weights = _weights(key, [h for passage in held for h in passage])
        weights.update({term: weights[term] * BOOKLET_TIE for term in booklet})
        candidates = []
        for rank, passage in enumerate(passages):
            candidates += _candidates(passage, rank, split[rank], held[rank], kind, asked,
                                      needed, weights)
        if not candidates:
            return []
        candidates.sort(key=lambda c: (-c.score, c.rank, c.position))
        best = candidates[0].score
        lines: list[str] = []
        quoted: dict[str, int] = {}  # a quoted sentence, flattened -> its line
        copies: dict[int, list[Passage]] = {}
        cited: dict[int, Passage] = {}
        for candidate in candidates:
            same = quoted.get(_flat(candidate.text))
            if same is not None:
                if candidate.passage.document_id != cited[same].document_id:
                    copies.setdefault(same, []).append(candidate.passage)
                continue
            if len(lines) >= self.max_sentences or candidate.score < best * RUNNER_UP:
                continue
            if candidate.lead is not None and _flat(candidate.lead) not in quoted:
                quoted[_flat(candidate.lead)] = len(lines)
                cited[len(lines)] = candidate.passage
                lines.append(_cited(candidate.lead, candidate.passage))
            quoted[_flat(candidate.text)] = len(lines)
            cited[len(lines)] = candidate.passage
            lines.append(_cited(candidate.text, candidate.passage))
            following = candidate.following
            if following is not None and _flat(following) not in quoted and \
                    len(lines) < self.max_sentences:
                quoted[_flat(following)] = len(lines)
                cited[len(lines)] = candidate.passage
                lines.append(_cited(following, candidate.passage))
        return [line + _copy_note(cited[i], copies.get(i, [])) for i, line in enumerate(lines)]


def _candidates(passage: Passage, rank: int, units: Sequence[str],
                held: Sequence[frozenset[str]], kind: Wants, asked: frozenset[str],
                needed: int, weights: dict[str, float]) -> list[_Candidate]:
    def weight(terms: set[str] | frozenset[str]) -> float:
        return sum(weights[t] for t in terms)

    everywhere = frozenset().union(*held) if held else frozenset()
    found = []
    for i, unit in enumerate(units):
        has_value = holds_value(kind, unit)
        if needs_value(kind) and not has_value:
            continue
        before = [j for j in range(max(0, i - BEFORE), i) if held[j] - held[i]]
        after = range(i + 1, min(len(units), i + 1 + AFTER))
        nearby = set().union(*(held[j] for j in before), *(held[j] for j in after)) - held[i]
        # A value found by the words close to it (a chart cell below its service); words
        # alone, only by the words they hold themselves.
        if len(((held[i] | nearby) if needs_value(kind) else held[i]) & asked) < needed:
            continue
        unit_words = english.lexemes(unit)
        score = (weight(held[i]) + NEARBY_WEIGHT * weight(nearby)
                 + PASSAGE_WEIGHT * weight(everywhere - held[i] - nearby)
                 + VALUE_WEIGHT * has_value
                 + DENSITY_WEIGHT * len(held[i]) / max(1, len(unit_words))
                 + SUBJECT_WEIGHT * bool(english.lexemes(_opening(unit)) & held[i])
                 - FRAGMENT_PENALTY * _fragment(unit))
        lead = None
        if len(held[i] & asked) < needed:
            # The key words stand before the value: quote the closest sentence naming
            # them (not a piece of one cut off by a chunk's start); none, no answer here.
            whole = [j for j in before if not units[j][:1].islower()]
            if not whole and not held[i]:
                continue
            if whole:
                lead = units[max(whole, key=lambda j: (len(held[j] - held[i]), j))]
            if lead is not None and len(lead) > LONG_SENTENCE:
                lead = None
        following = None
        if needs_value(kind) and i + 1 < len(units) and len(units[i + 1]) <= SHORT_VALUE \
                and holds_value(kind, units[i + 1]):
            following = units[i + 1]
        found.append(_Candidate(score, rank, i, unit, passage, lead, following))
    return found


def _opening(sentence: str) -> str:
    return " ".join(sentence.split()[:4])


def _fragment(sentence: str) -> bool:
    """A piece of a sentence: it starts in lower case or stops without a full stop."""
    return sentence[:1].islower() or not _ENDED.search(sentence)


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(".")


def _cited(sentence: str, passage: Passage) -> str:
    ending = "" if sentence.endswith((".", "!", "?")) else "."
    return f"{sentence}{ending} [{passage.label}]"


def _copy_note(passage: Passage, others: Sequence[Passage]) -> str:
    """Which copy a line quotes, when another document says the same: a passage the
    prompt left out as a copy (``Passage.copies``), or one of its sentences."""
    names = sorted({_name(o.filename) for o in others} | {_name(c) for c in passage.copies}
                   - {_name(passage.filename)})
    if not names:
        return " (quoted once: another copy of this document says the same)" if others else ""
    return (f" (quoted from {_name(passage.filename)}{_page(passage)}; "
            f"{', '.join(names)} say{'s' if len(names) == 1 else ''} the same)")


def _name(filename: str) -> str:
    # Brackets would read as citations: a file name is shown without them.
    return "\u201c" + filename.translate(str.maketrans("[]", "()")) + "\u201d"


def _page(passage: Passage) -> str:
    return "" if passage.page is None else f", page {passage.page}"
