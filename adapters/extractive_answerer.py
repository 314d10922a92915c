"""The ``Answerer`` port with no language model: an extractive answer, offline.

It reads like a careful person with a highlighter: it works out what kind of answer
the question wants (``domain.questions``: an amount, a phone number, a count, a time,
yes/no coverage, a procedure), then quotes, verbatim, the sentence or benefit-chart
row of the passages that holds a value of that kind *and* the question's key words,
close together, each quoted line cited ``[n]``, under a first line that says the
answer is extracted, not generated.

- **Sentences and chart rows** (``adapters.answer_units``). A passage's lines are
  joined until a sentence ends, then split at sentence ends; bullets start a new one.
  A chart row (one line, its cells split by tabs) is a row: a short one is quoted
  whole ("Knee scooters — Not covered under any condition"), a long one's cell
  sentence under its service ("Ambulance services — $180 copayment for each
  one-way trip."), a contact table's row under its table's title ("Appeals For
  Medical Care - Contact Information", then "FAX 1-562-989-0958").
- **Close together.** A sentence's score counts the question's key words it holds,
  plus, worth less, those close to it: for a chart cell, the service it is quoted
  under and its table's header (worth as much as its own: the value belongs to them),
  the rest of its row (a long description names many things in passing: worth less),
  and a member's word for the service (the glossary's "counselor" for "Outpatient
  mental health care") as much as the service's own,
  and nothing of the rows around it; otherwise the few sentences just
  before it (a service name above its cost) and just after it. When the key words
  come from a sentence before, that sentence is quoted first, so the member sees
  what the value belongs to. A value in one clause with a key word scores more.
- **What it stands under.** The heading a sentence stands under is evidence of what
  it is about: its key words count (for less) and help a sentence hold enough of
  them. A heading is not an answer of its own, nor is a question the passage asks
  ("How do you ask for reimbursement?").
- **One that answers.** A sentence that only sends the reader elsewhere ("see
  Chapter 4, Section 2") scores less; for a yes/no question, one that gives a verdict
  ("There is no deductible", "is not covered", "requires prior authorization") more;
  when the question says in- or out-of-network, a sentence (or a chart column) on
  that side more, and one only on the other side less.
- **What it counts.** "How many days of care" asks for a number of days: a sentence
  giving one ("covered for 100 days") scores more than one numbering them ("for days
  1-20").
- **Named as asked.** A value in a sentence that also says the question's word for it
  ("When is the penalty due?": "is due by the 1st of each month"; "the deadline",
  "hours", "copayment") scores more.
- **A step to take.** For "how do I ...", a sentence telling the member a step ("If
  you wish to ask for a second opinion, simply contact your PCP") scores more than one
  telling what happens ("The group will review your request").
- **Whose time limit.** "How long do I have to appeal" asks for the member's
  deadline ("You must make your appeal request within 65 calendar days"); "how long
  does the plan have to answer" for the plan's ("we must give you our answer within
  30 calendar days", or said of the decision: "Most complaints are answered within 30
  calendar days"): a time limit of the party asked about scores more, one only of
  another party (the member's, the plan's, a review organization's) less.
- **Where, whether, what then.** "Where do I mail the check?" is answered by an
  address where the passages give one; "Is there a deductible ...?" by a sentence
  saying whether there is ("There is no deductible for ..."), whatever else it names;
  "What happens if I don't choose one?" by a sentence stating that condition ("If you
  do not select a PCP ..."), which scores more.
- **The right kind of value.** A sentence holding a value of the kind asked for
  scores more; for amounts, phone numbers, counts and times it is required: an amount
  question is never answered with a sentence that names no amount.
- **Honest.** The passages must speak of what the question asks about: each key word
  of its asking sentence (or one of words it joins with "or": "glasses or contact
  lenses") appears somewhere in them, as a word, a heading or a row's service; a
  question of three key words or more may use one word of its own (a member's word,
  not the booklet's); who asks ("TTY users") and what they do ("have to meet") are
  not what it is about. "Parking at the hospital" is not answered by passages on
  hospitals that never say "parking". And when no sentence holds the value (where one
  is required) and at least half the key words of the question's asking sentence (a
  third of its story's, when that sentence names nothing: "Does the plan cover it?"),
  the answer is the "not covered" marker the grounding rules understand. A passage's
  text is only ever quoted, never obeyed.
- **In the member's words.** A story's asking sentence that points back at it ("...
  what do we pay at the hospital there?") may be answered by a sentence holding the
  story's words; so may one whose asking sentence names only what a price is counted
  by ("each session") or telling the plan ("let the plan know"). Who tells the story
  ("My doctor ordered an MRI") is not what it is about. A hyphenated compound speaks
  of its last word ("life-saving" is not about life insurance) unless the question
  says that word too. "Something" and "anything" name nothing. A count of weeks is the
  booklet's count of days ("after the first three weeks": 21 days), a weekend the
  booklet's Saturday or Sunday, and a number in words its digits ("cover two?": "2
  hearing aids").
- **Enough to hold the fact.** Up to ``max_sentences`` facts, each whole: what it
  belongs to, its cell's next value, and a short sentence going on from it with the
  value ("For calendar year 2025 this amount is $1,500.") come with it, never cut by
  the cap.
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
from adapters.answer_signals import (
    asks_address,
    asks_consequence,
    asks_existence,
    counted,
    counts,
    duty_of,
    holds_address,
    instructs,
    network_side,
    on_side,
    refers_elsewhere,
    same_clause,
    says_yes_or_no,
    states_condition,
    states_existence,
    whose_time,
)
from adapters.answer_units import ENDED, Unit, sentences, units
from adapters.text_search import EnglishWords
from domain.grounding import NOT_COVERED_MARKER, AnswerKind, GroundedPrompt, Passage, Usage
from domain.lay_terms import LayTerms
from domain.questions import Wants, asking, holds_value, needs_value, points_back, wants

__all__ = ["HEADER", "ExtractiveAnswerer", "key_terms", "network_side", "refers_elsewhere",
           "says_yes_or_no", "sentences"]

HEADER = "Extracted from your documents (quoted, not generated):"

#: A sentence longer than this is not quoted to say what a value belongs to.
LONG_SENTENCE = 400
#: How many sentences before (and after) a sentence count as close to it.
BEFORE, AFTER = 8, 1
#: A value sentence this short right after the one quoted in the same chart cell is quoted
#: too (the cell's next tier: "$0 copayment per day for days 1-20." then "$75 ... for days
#: 21-100."); in prose the next sentence is another fact, and earns its place by its score,
#: unless it goes on from the one quoted with the value ("this amount is $1,500").
SHORT_VALUE = 160
#: How many of its key words (or "or" groups) a question of at least ``OWN_WORDS_FROM``
#: of them may use that no passage does: a member's own word for the booklet's thing.
OWN_WORDS, OWN_WORDS_FROM = 1, 3
#: A question whose asking sentence names nothing ("My doctor suggested medical
#: marijuana for my back pain. Does the plan cover it?") needs one in this many of its
#: story's key words held (half, when its asking sentence names them).
STORY = 3
#: What a key word in a sentence close by is worth, against one in the sentence.
NEARBY_WEIGHT = 0.6
#: What a key word in the rest of a chart row's cells is worth (the same row).
ROW_WEIGHT = 0.6
#: What a key word in the service a chart row's cell is quoted under is worth ("Emergency
#: care" for "$90 copayment for each visit"): the value belongs to it.
SERVICE_WEIGHT = 1.0
#: What a key word in the heading a sentence stands under is worth.
HEADING_WEIGHT = 0.5
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
#: What a sentence that says yes or no (covered, not covered, no deductible, approval
#: needed) is worth to a yes/no question.
VERDICT_WEIGHT = 1.0
#: What a value standing in one clause with one of the question's words is worth
#: ("within 30 calendar days" a few words from "standard appeals").
CLAUSE_WEIGHT = 1.0
#: What a time limit of the party the question asks about (the member's to appeal, the
#: plan's to answer) gains, and one only of another party's loses.
DUTY_WEIGHT = 1.5
#: What a sentence giving a number of what a "how many" question counts is worth ("how
#: many days": "100 days per benefit period", not "$0 per day for days 1-20").
COUNTED_WEIGHT = 1.0
#: What a sentence holding a value of the kind asked for gains when it also says the
#: word the question names that value by ("deadline", "due", "hours", "copayment").
NAMING_WEIGHT = 1.0
#: What a sentence telling the member a step ("simply contact your PCP") is worth to a
#: "how do I" question.
STEP_WEIGHT = 1.0
#: What a sentence that only sends the reader elsewhere ("see Chapter 4") loses.
REFERS_PENALTY = 1.0
#: What a sentence stating the condition a "what happens if ..." question asks about
#: gains ("If you do not select a PCP ...", for "... if I don't choose one?").
CONDITION_WEIGHT = 1.0
#: What a sentence on the network side the question names (in or out of it) gains,
#: and one only on the other side loses.
NETWORK_WEIGHT = 1.0

# A sentence that goes on from the one before ("This is covered once every 12 months";
# "For calendar year 2025 this amount is $1,500").
_GOES_ON = re.compile(r"^(?:this|that|these|those|it|such)\b|"
                      r"^.{0,40}\b(?:this|that) (?:amount|limit|period|benefit|cost)\b",
                      re.IGNORECASE)
#: The kinds of value that complete what the sentence before said.
_COMPLETING = (Wants.AMOUNT, Wants.TIME, Wants.PHONE)

# Words that say what kind of answer is wanted, or nothing about which passage holds
# it (going, coming, asking, telling, help), the pieces a contraction leaves ("I'd", "we're",
# "isn't"), and when a story happened ("last night", "yesterday", "still", "already"):
# not key words (stop words are not words at all).
_GENERIC = """
plan plans cover covered coverage covers pay paid pays payment cost costs much many copay
copays copayment copayments coinsurance price charge charged owe spend number numbers phone
call reach contact get gets got need needs want know tell please time times way also would
could us one kind sort amount insurance document
documents say says deadline due hours open like something anything ask let tell
go goes going went gone come comes coming came still yet already ever even really help
d ll m re s t ve isn aren wasn weren doesn didn haven hasn hadn won wouldn couldn shouldn
last night yesterday today tonight tomorrow ago morning
"""
_GENERIC_LEXEMES = english.lexemes(_GENERIC)
# Of those, the words that name the value asked for: a sentence that says the same word
# ("When is the penalty due?": "is due by the 1st of each month"; "Is there a deadline
# to complain?": "The deadline for making a complaint is 60 calendar days") says what
# its value is.
_NAMING = english.lexemes("deadline due hours open copay copayment coinsurance price fee "
                          "number phone")


# Who tells the story's news ("My doctor says ...", "My father's doctor ordered ...",
# "The pharmacist suggested ..."): the one who speaks (and whose they are), not what the
# question is about.
_SPEAKER = re.compile(r"\b(?:my|our|his|her|their|the|a)\s+((?:[\w'\u2019]+['\u2019]s?\s+)?"
                      r"[a-z]+)\s+(?:says?|said|suggest(?:s|ed)?|recommend(?:s|ed)?|told|"
                      r"tells|thinks|thought|ordered|orders|prescribed|wants|wanted|"
                      r"asked|advised|referred)\b", re.IGNORECASE)


def speakers(question: str) -> frozenset[str]:
    """Who tells a story's news, as lexemes ("My dentist says I need braces": dentist),
    unless the asking sentence names them too ("... Does my dentist need approval?")."""
    story = question.replace(asking(question), " ") if asking(question) != question else ""
    return english.lexemes(" ".join(_SPEAKER.findall(story))) - english.lexemes(asking(question))


def key_terms(question: str) -> frozenset[str]:
    """The question's words that say what it is about (not what kind of answer)."""
    every = english.lexemes(question)
    about = english.lexemes(_INTERROGATIVE.sub(" ", question))
    return (about - _GENERIC_LEXEMES) or every


# The words that ask how much, how many, how long or how fast: what kind of answer, said
# by the phrase, not the word ("how fast" asks for a time; a "fast appeal" is a thing).
_INTERROGATIVE = re.compile(r"\bhow\s+(?:much|many|often|long|quickly|fast|soon|frequently)\b|"
                            r"\bhow far (?:ahead|in advance)\b|"
                            r"\bwhat (?:happens|will happen|would happen)\b|"
                            r"\b(?:calculated|worked out|figured out|computed)\b|"
                            r"\bwhat\s+(?:time|day|date)(?:\s+of\s+(?:the|each)\s+"
                            r"(?:week|month|year))?\b", re.IGNORECASE)


_WEEKS = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d{1,2})"
                    r"[\s-]+weeks?\b", re.IGNORECASE)
_NUMBERS = {word: n for n, word in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve"))}


def in_days(question: str) -> str:
    """``question`` with a count of weeks said in days, as booklets count a stay ("after
    the first three weeks": "after the first 21 days")."""
    def days(match: re.Match[str]) -> str:
        count = match.group(1).lower()
        return f"{7 * (_NUMBERS[count] if count in _NUMBERS else int(count))} days"
    return _WEEKS.sub(days, question)


_WEEKEND = re.compile(r"\b(?:the |a )?week-?ends?\b", re.IGNORECASE)
_WEEKDAY = re.compile(r"\bweek-?days?\b", re.IGNORECASE)


#: A number from two up said in words, as its digits ("Will the plan cover two?": "2
#: hearing aids"); "one" is as often a pronoun ("each one") as a number.
_NUMBERS_SAID = {english.lexeme(word): str(n) for word, n in _NUMBERS.items() if n >= 2}
_NUMBER_WORD = re.compile(r"\b(?:" + "|".join(w for w, n in _NUMBERS.items() if n >= 2) + r")\b",
                          re.IGNORECASE)


def in_digits(question: str) -> str:
    """``question`` with a number from two up said in digits, as booklets write counts
    ("Will the plan cover two?": "2 hearing aids every 12 months"); a sentence's number
    words count as their digits too."""
    return _NUMBER_WORD.sub(lambda m: str(_NUMBERS[m.group().lower()]), question)


def in_day_names(question: str) -> str:
    """``question`` with a weekend said as its days, as a booklet's hours name them ("Are
    they open on weekends?": "on Saturday or Sunday"), and weekdays as theirs."""
    return _WEEKDAY.sub("Monday or Friday", _WEEKEND.sub("Saturday or Sunday", question))


def booklet_terms(question: str, glossary: LayTerms | None = None) -> frozenset[str]:
    """The booklet's words for the question's phrases ("cap on what I spend": "maximum
    out-of-pocket amount"; ``domain/lay_terms.py``), by ``glossary`` (the default
    one when None)."""
    return english.lexemes((glossary or _glossary()).expansion(question)) - _GENERIC_LEXEMES


@functools.cache
def _glossary() -> LayTerms:
    """The default glossary, for an answerer built without one (the container gives
    each answerer the one search uses)."""
    return LayTerms.of(EnglishWords())


_OR = re.compile(r"([\w'\u2019-]+)\s*,?\s+or\s+([\w'\u2019-]+)", re.IGNORECASE)


#: Words that say who asks, not what about ("TTY users", "I'm"): the passages need not
#: use them.
_WHO = english.lexemes("user users member members people person someone anyone m s")


_DOING = re.compile(r"\b(?:to|i|we|you|he|she|they|i['\u2019]m)\s+([a-z]+)", re.IGNORECASE)


def _doings(question: str) -> frozenset[str]:
    """What the member does, not what the question is about: the word after "to" or
    after "I", "we", "you" ("have to meet", "can I get")."""
    return english.lexemes(" ".join(_DOING.findall(question)))


_PER = re.compile(r"\b(?:each|per|every)\s+([a-z]+)", re.IGNORECASE)


def _per(question: str) -> frozenset[str]:
    """What a price or a count is counted by ("for each session", "per visit"), not
    what it is the price of."""
    return english.lexemes(" ".join(_PER.findall(question)))


def alternatives(question: str, asked: frozenset[str]) -> list[frozenset[str]]:
    """The question's key words in groups any one of which will do: a word alone, or
    the words either side of an "or" ("glasses or contact lenses": glasses, contact)."""
    groups: list[frozenset[str]] = []
    for match in _OR.finditer(question):
        either = english.lexemes(f"{match.group(1)} {match.group(2)}") & asked
        if len(either) == 2:
            groups = [g for g in groups if not g <= either] + [either]
    joined = frozenset().union(*groups) if groups else frozenset()
    return groups + [frozenset({term}) for term in sorted(asked - joined)]


_Links = tuple[tuple[frozenset[str], tuple[frozenset[str], ...]], ...]


def _links(question: str, glossary: LayTerms) -> _Links:
    """Each glossary phrase of the question: its words, and its booklet terms' words."""
    return tuple((member, tuple(english.lexemes(term) for term in booklet))
                 for member, booklet in glossary.bridges(question))


def _bridged(links: _Links, said: frozenset[str]) -> frozenset[str]:
    found: set[str] = set()
    for member, booklet in links:
        if any(words and words <= said for words in booklet):
            found |= member
    return frozenset(found)


def bridged(question: str, said: frozenset[str], glossary: LayTerms | None = None
            ) -> frozenset[str]:
    """The member's words ``said`` speaks of in the booklet's words: those of each of
    the question's glossary phrases one of whose booklet terms ``said`` holds whole
    ("cap on what I spend" where a passage says "maximum out-of-pocket amount")."""
    return _bridged(_links(question, glossary or _glossary()), said)


_COMPOUND = re.compile(r"[^\W\d_]+(?:[-\u2010\u2011][^\W\d_]+)+\b(?!-)")


def _lexemes(text: str, asked: frozenset[str]) -> frozenset[str]:
    """The lexemes of ``text``, but of a hyphenated compound only its head (its last
    word not a stop word) unless ``asked`` (the question's lexemes) holds that head
    too: "life-saving" is about saving, not about life insurance; "out-of-pocket" is
    about the pocket, and "Medicare-covered" about Medicare only where coverage is
    asked about."""
    found = set(english.lexemes(_COMPOUND.sub(" ", text)))
    found.update(_NUMBERS_SAID[word] for word in found & _NUMBERS_SAID.keys())
    for match in _COMPOUND.finditer(text):
        parts = [lexeme for _, _, lexeme in english.words(match.group())]
        if parts:
            found.update(parts if parts[-1] in asked else parts[-1:])
    return frozenset(found)


def _spoken_of(asking_text: str, asked: frozenset[str], said: frozenset[str]) -> bool:
    """The passages (``said``: the words of their sentences, headings and rows) speak of
    what the question asks about (``asking_text``, its asking sentences): each of its key
    words (or one of each "or" group) is in them, but for ``OWN_WORDS`` in a long
    question; words that say who asks or what they do ("to meet") need not be."""
    about = asked - _WHO - _doings(asking_text)
    groups = alternatives(asking_text, about or asked)
    unsaid = sum(not group & said for group in groups)
    return unsaid <= (OWN_WORDS if len(groups) >= OWN_WORDS_FROM else 0)


def _weights(key: frozenset[str], held: Sequence[frozenset[str]]) -> dict[str, float]:
    """Each key word's weight: rarer among the passages' sentences, heavier (idf)."""
    total = len(held)
    return {term: max(0.2, math.log((total + 1) / (sum(term in h for h in held) + 0.5)))
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
    same: str  # what it says, flattened, without the row's service it is quoted under


class ExtractiveAnswerer:
    """Offline answers: the sentences that hold what the question asks for, quoted and
    cited."""

    kind = AnswerKind.EXTRACTED
    model = "extractive"

    def __init__(self, max_sentences: int = 3, lay_terms: LayTerms | None = None) -> None:
        if max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self.max_sentences = max_sentences
        #: The glossary search expands questions with (the container passes its own).
        self.lay_terms = lay_terms or _glossary()

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
        question = in_digits(in_day_names(in_days(question)))
        kind = wants(question)
        key = key_terms(question) - speakers(question)
        asking_text = asking(question)
        # A question told as a story is answered by what it asks: half the words of
        # its asking sentence must be held; the story's words only rank.
        asked = key_terms(asking_text) & key - _per(asking_text)
        # One that asks with a pronoun ("Does the plan cover it?") asks about the story's
        # thing, told among its circumstances: a third of the story's words will do.
        needed = max(1, math.ceil(len(asked) / 2) if asked else math.ceil(len(key) / STORY))
        asked = asked or key
        # One whose asking sentence points back at its story ("what do we pay at the
        # hospital there?") asks about the story's things too: their words may be the
        # ones held, as many as its asking sentence's own would be needed.
        own = asked
        if points_back(question):
            asked = key
        booklet = booklet_terms(question, self.lay_terms) - key  # break ties; never needed
        key |= booklet
        split = [units(p.text) for p in passages]
        # A member's phrase counts as said where its booklet term is, in the sentence or
        # the heading it stands under ("cap on what I spend": "maximum out-of-pocket
        # amount"), for what must be held too.
        links = _links(question, self.lay_terms)
        heads = english.lexemes(question)
        said = [[(w := _lexemes(unit.text, heads))
                 | _bridged(links, w | english.lexemes(unit.heading)) for unit in found]
                for found in split]
        if not _spoken_of(asking_text, own, frozenset().union(*(w for p in said for w in p))):
            return []
        held = [[key & words for words in found] for found in said]
        weights = _weights(key, [h for passage in held for h in passage])
        weights.update({term: weights[term] * BOOKLET_TIE for term in booklet})
        naming = english.lexemes(asking_text) & _NAMING
        side, whose, count = (network_side(question), whose_time(asking_text),
                              counted(asking_text))
        condition = asks_consequence(asking_text)
        exists = asks_existence(asking_text) if kind is Wants.YES_NO else frozenset()
        candidates = []
        for rank, passage in enumerate(passages):
            candidates += _candidates(passage, rank, split[rank], held[rank], kind, asked,
                                      needed, weights, side, whose, count, naming,
                                      condition, links, exists)
        if asks_address(asking_text) and any(holds_address(c.text) for c in candidates):
            # "Where do I mail the check?" is answered by an address, as an amount question
            # by an amount: where the passages give one, a step without one does not answer.
            candidates = [c for c in candidates if holds_address(c.text)]
        if not candidates:
            return []
        candidates.sort(key=lambda c: (-c.score, c.rank, c.position))
        best = candidates[0].score
        lines: list[str] = []
        quoted: dict[str, int] = {}  # a quoted sentence, flattened -> its line
        copies: dict[int, list[Passage]] = {}
        cited: dict[int, Passage] = {}
        for candidate in candidates:
            same = quoted.get(candidate.same, quoted.get(_flat(candidate.text)))
            if same is not None:
                if candidate.passage.document_id != cited[same].document_id:
                    copies.setdefault(same, []).append(candidate.passage)
                continue
            # Each fact comes whole (what it belongs to, and its cell's next value), and
            # facts come while there is room: a row's continuation is never cut off.
            if len(lines) >= self.max_sentences or candidate.score < best * RUNNER_UP:
                continue
            if candidate.lead is not None and _flat(candidate.lead) not in quoted:
                quoted[_flat(candidate.lead)] = len(lines)
                cited[len(lines)] = candidate.passage
                lines.append(_cited(candidate.lead, candidate.passage))
            quoted[_flat(candidate.text)] = quoted[candidate.same] = len(lines)
            cited[len(lines)] = candidate.passage
            lines.append(_cited(candidate.text, candidate.passage))
            following = candidate.following
            if following is not None and _flat(following) not in quoted:
                quoted[_flat(following)] = len(lines)
                cited[len(lines)] = candidate.passage
                lines.append(_cited(following, candidate.passage))
        return [line + _copy_note(cited[i], copies.get(i, [])) for i, line in enumerate(lines)]


def _candidates(passage: Passage, rank: int, units: Sequence[Unit],
                held: Sequence[frozenset[str]], kind: Wants, asked: frozenset[str],
                needed: int, weights: dict[str, float], side: str | None,
                whose: str | None, noun: str | None, naming: frozenset[str],
                condition: bool | None = None, links: _Links = (),
                exists: frozenset[str] = frozenset()) -> list[_Candidate]:
    def weight(terms: set[str] | frozenset[str]) -> float:
        # fsum: the same total in any order (a set's order changes with the hash seed,
        # and a tie between two sentences must break the same way in every process).
        return math.fsum(weights[t] for t in terms)

    everywhere = frozenset().union(*held) if held else frozenset()
    key = frozenset(weights)
    found = []
    for i, unit in enumerate(units):
        has_value = holds_value(kind, unit.text)
        # A heading names what the sentences under it are about; they answer.
        if unit.is_heading or (needs_value(kind) and not has_value) \
                or _asks(unit.text):
            continue
        if unit.cell is not None:
            # A chart row's cell: what is close to it is its row, nothing else.
            before: list[int] = []
            row = [j for j in _row(units, i) if j != i]
            service_words = english.lexemes(unit.label or "")
            # the member's words for the service count as its own ("counselor" for
            # "Outpatient mental health care")
            named = (service_words | _bridged(links, service_words)) & key - held[i]
            nearby = set().union(*(held[j] for j in row)) - held[i]
            near = SERVICE_WEIGHT * weight(named) + ROW_WEIGHT * weight(nearby - named)
        elif unit.row is not None:
            before, nearby, near = [], set(), 0.0  # a whole row holds its own context
        else:
            before = [j for j in range(max(0, i - BEFORE), i)
                      if units[j].row is None and held[j] - held[i]]
            after = [j for j in range(i + 1, min(len(units), i + 1 + AFTER))
                     if units[j].row is None]
            nearby = set().union(*(held[j] for j in before), *(held[j] for j in after)) \
                - held[i]
            near = NEARBY_WEIGHT * weight(nearby)
        under = english.lexemes(unit.heading) & key
        heading = under - nearby
        # A value found by the words close to it (a chart cell beside or below its
        # service, a table's row under its header); words alone, only by the words
        # they hold themselves and those of the heading they stand under.
        if len(((held[i] | nearby | under) if needs_value(kind) else held[i] | under)
               & asked) < needed and not states_existence(exists, unit.text):
            # ("There is no deductible for SCAN Classic" answers "Is there a deductible
            # for drugs?" in a passage on drugs: it says whether the thing asked exists.)
            continue
        if unit.row is not None:
            near += SERVICE_WEIGHT * weight(heading)  # a table's header names its rows
            nearby |= heading
            heading = frozenset()
        unit_words = english.lexemes(unit.text)
        names = needs_value(kind) and has_value and bool(naming & unit_words)
        score = (weight(held[i]) + near
                 + HEADING_WEIGHT * weight(heading)
                 + PASSAGE_WEIGHT * weight(everywhere - held[i] - nearby - heading)
                 + VALUE_WEIGHT * has_value
                 + CLAUSE_WEIGHT * (needs_value(kind) and same_clause(kind, unit.text, held[i]))
                 + DUTY_WEIGHT * (kind is Wants.TIME and duty_of(whose, unit.text))
                 + VERDICT_WEIGHT * (kind is Wants.YES_NO and says_yes_or_no(unit.text))
                 + DENSITY_WEIGHT * min(1.0, len(held[i]) / max(1, len(unit_words)))
                 + SUBJECT_WEIGHT * bool(english.lexemes(_opening(unit.text)) & held[i])
                 - FRAGMENT_PENALTY * _fragment(unit.text)
                 + COUNTED_WEIGHT * counts(noun, unit.text)
                 + NAMING_WEIGHT * names
                 + STEP_WEIGHT * (kind is Wants.PROCEDURE and instructs(unit.text))
                 - REFERS_PENALTY * refers_elsewhere(unit.text)
                 + NETWORK_WEIGHT * on_side(side, f"{unit.column or ''} {unit.text}")
                 + CONDITION_WEIGHT * states_condition(condition, unit.text))
        lead = unit.table  # whose number a contact table's row is
        if unit.row is None and len(held[i] & asked) < needed:
            # The key words stand before the value: quote the closest sentence naming
            # them (not a piece of one cut off by a chunk's start); none, no answer here.
            whole = [j for j in before if not units[j].text[:1].islower()]
            if not whole and not held[i]:
                continue
            if whole:
                lead = units[max(whole, key=lambda j: (len(held[j] - held[i]), j))].quoted
            if lead is not None and len(lead) > LONG_SENTENCE:
                lead = None
        following = None
        if needs_value(kind) and i + 1 < len(units):
            after_unit = units[i + 1]
            if len(after_unit.text) <= SHORT_VALUE and holds_value(kind, after_unit.text) \
                    and (after_unit.row, after_unit.cell) == (unit.row, unit.cell) \
                    and unit.cell is not None:
                following = after_unit.text
        if following is None and i + 1 < len(units):
            # A short sentence going on from this one with its value ("there is a limit
            # on the total amount ..." then "For calendar year 2025 this amount is
            # $1,500.") completes the fact, whatever the question's kind.
            after_unit = units[i + 1]
            if len(after_unit.text) <= SHORT_VALUE and _GOES_ON.search(after_unit.text) \
                    and (after_unit.row, after_unit.cell) == (unit.row, unit.cell) \
                    and any(holds_value(k, after_unit.text) for k in _COMPLETING):
                following = after_unit.text
        found.append(_Candidate(score, rank, i, unit.quoted, passage, lead, following,
                                _flat(unit.text)))
    return found


def _row(units: Sequence[Unit], i: int) -> range:
    """The positions of the units of unit ``i``'s chart row (they stand together)."""
    start = end = i
    while start > 0 and units[start - 1].row == units[i].row:
        start -= 1
    while end + 1 < len(units) and units[end + 1].row == units[i].row:
        end += 1
    return range(start, end + 1)


def _asks(sentence: str) -> bool:
    """A question (a booklet's heading put as one: "How do you ask for reimbursement?")
    is what a passage is about, never an answer."""
    return sentence.rstrip("\"'\u201d\u2019) ").endswith("?")


def _opening(sentence: str) -> str:
    return " ".join(sentence.split()[:4])


def _fragment(sentence: str) -> bool:
    """A piece of a sentence: it starts in lower case or stops without a full stop."""
    return sentence[:1].islower() or not ENDED.search(sentence)


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
