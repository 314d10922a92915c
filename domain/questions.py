"""What kind of answer a member's question asks for, and whether a sentence holds one.

Most members ask about money, phone numbers, counts, dates and deadlines, yes/no
coverage, or how to do something. An answer of the right kind holds a value of that
kind: an amount question is never answered by a sentence that names no amount, a
phone question by one with no number. The rules, in order (the first that fits):

- **time**, for "is there a deadline (time limit) to ...": it asks for the deadline;
  **phone**, for "is there a number (a line) I can call ...": it asks for the number;
  **hours**, for "are they (is the office) open ...": it asks for the hours;
- **amount**, for a yes/no question about what the member pays ("Will it cost me
  anything?", "Do I still owe the copay?");
- **yes/no**: a question that starts "is", "are", "does", "do", "can", "will", ...
  ("Does the plan pay for a walker?", "Can the plan change its premium?");
- **phone**: "phone", "number" to call, "TTY", "fax", "how do I call / reach /
  contact";
- **hours**: "what hours", "is it open", "what time", "when can I call" (or reach
  someone: "reach you", "reach Member Services"; not "reach the next stage");
- **procedure**: "how do I", "how can I", "what should I do", "where do I send";
- what the question opens with, before the words of its topic: "how much" an
  **amount** ("how much time" a time), "how many" / "how often" a **count**, "how
  long" / "how quickly" a **time**, and so does "when" opening it ("How long do I
  have to ask to be paid back?", "When is the fee due?" ask for a time); "how is ...
  calculated (worked out)" an **amount**, the sum that gives it;
- **amount**: "how much", "cost", "pay", "copay", "coinsurance", "price", "premium",
  "deductible", "allowance", "owe", "spend", "charge", "amount", "out-of-pocket";
- **count**: "how many", "how often", "limit", "how frequently", and a limit asked by
  its extreme ("the longest trip", "the maximum number");
- **time**: "when", "how long", "how quickly / fast / soon", "how far ahead (in
  advance)", "deadline", "hours", "open";
- otherwise **any**: the sentence that best matches the question's words.

A value of each kind, as a booklet writes it: amounts ("$180", "20%", "$0", "no
copayment", "no deductible"), phone numbers ("1-800-633-4227", "1-800-MEDICARE",
"711"), opening hours ("8 a.m. to 8 p.m.", "7 days a week", "Monday"), counts
("24", "one", "once", "every 12 months"), times ("8 a.m. to 8 p.m.", "72 hours",
"a 30-day window", "October 15", "the 1st of each month", "midnight"), the words of
a coverage statement ("covered", "not covered", "no", "required", "can", "cannot"),
and the words of a step ("call", "send", "ask", "fill out", "P.O. Box").
"""

from __future__ import annotations

import enum
import re


class Wants(enum.StrEnum):
    """The kind of answer a question asks for."""

    PHONE = "phone"
    HOURS = "hours"
    AMOUNT = "amount"
    COUNT = "count"
    TIME = "time"
    PROCEDURE = "procedure"
    YES_NO = "yes/no"
    ANY = "any"


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


# Whom a member reaches by telephone ("when can I reach you", "... reach Member
# Services"), not what ("when do I reach the catastrophic stage").
_SOMEONE = (r"(?:you|them|someone|somebody|anyone|a person|a human|"
            r"(?:the |a |an |your |our |my )?(?:[\w-]+ ){0,2}(?:services|line|office|desk|"
            r"center|team|support|nurse|agent|representative))\b")

_ASKS = (
    (Wants.PHONE, _words(r"phone", r"telephone", r"tty", r"fax", r"hotline",
                         r"(?:what|which) number", r"number (?:to|do I|should I) call",
                         r"how (?:do|can|should) (?:i|we) (?:call|reach|contact|phone)",
                         r"who (?:do|can|should) (?:i|we) call")),
    (Wants.HOURS, _words(r"what hours", r"hours of", r"(?:is|are) (?:it|they|\w+ services?) open",
                         r"open(?:ing)? hours", r"what time", r"closed?", r"business hours",
                         r"when (?:are|is) (?:they|it|\w+ services?) open",
                         r"when (?:can|do) (?:i|we) (?:call|reach " + _SOMEONE + r")")),
    (Wants.PROCEDURE, _words(r"how (?:do|can|should) (?:i|we)", r"what should (?:i|we) do",
                             r"where (?:do|can|should) (?:i|we) (?:send|mail|write|go|file)",
                             r"what steps", r"how to")),
    # What a question opens with says what it asks, before the words of its topic:
    # "How long do I have to ask to be paid back?" asks for a time, not an amount.
    (Wants.TIME, _words(r"how much time")),
    (Wants.AMOUNT, _words(r"how much")),
    (Wants.COUNT, _words(r"how many", r"how often", r"how frequently")),
    (Wants.TIME, re.compile(r"\b(?:how long|how quickly|how fast|how soon|"
                            r"how far (?:ahead|in advance|before))\b|"
                            r"(?:^|[.?!;]\s)\s*when\s+(?:is|are|was|were|do|does|did|can|"
                            r"could|will|would|must|should|may|am|has|have)\b",
                            re.IGNORECASE)),
    # "How is the penalty worked out?" asks for the sum that gives it.
    (Wants.AMOUNT, _words(r"how (?:is|are|was|will|do|does) [^?.!;]*?(?:calculated|worked out|"
                          r"figured(?: out)?|computed)")),
    (Wants.AMOUNT, _words(r"how much", r"costs?", r"pay", r"paid", r"copays?", r"co-pays?",
                          r"copayments?", r"coinsurance", r"prices?", r"premiums?",
                          r"deductibles?", r"allowance", r"owe", r"spend", r"charged?",
                          r"fees?", r"expensive", r"afford", r"amounts?", r"out-of-pocket")),
    (Wants.COUNT, _words(r"how many", r"how often", r"limits?", r"how frequently",
                         r"maximum number", r"times a year", r"(?:the )?(?:longest|farthest|"
                         r"furthest|largest|biggest|most|fewest|least|maximum|minimum)")),
    (Wants.TIME, _words(r"when", r"how long", r"how quickly", r"how fast", r"how soon",
                        r"deadline", r"hours", r"open", r"what time", r"what day",
                        r"by what date", r"due")),
)
# "Will the plan pay for ...?" asks whether something is covered, not how much.
_COVERED = re.compile(r"^\s*(?:will|does|do|would|can|is|are)\b[^?]{0,40}\b(?:pay for|cover)",
                      re.IGNORECASE)
# "Is there a deadline to complain?" asks for the deadline, not for yes or no.
_IS_THERE_A_DEADLINE = re.compile(r"^\s*(?:is|are) there (?:a|any)\s+(?:\w+\s+)?"
                                  r"(?:deadline|time limit|due date)", re.IGNORECASE)
# "Is there a number I can call for help?" asks for the number; "Are they open on
# weekends?" for the hours they are open.
_IS_THERE_A_NUMBER = re.compile(r"^\s*(?:is|are) there (?:a|any|an)\s+(?:\w+\s+){0,2}"
                                r"(?:numbers?|phone|hotline|line)\b", re.IGNORECASE)
_ARE_THEY_OPEN = re.compile(r"^\s*(?:is|are) (?:it|they|you|(?:the |your |our )?(?:[\w-]+ ){0,2}"
                            r"(?:services?|line|office|center|desk|pharmacy|pharmacies))\s+"
                            r"open\b", re.IGNORECASE)
# "Will it cost me anything?", "Do I still owe the copay?": a yes/no question about
# what the member pays asks for the amount (nothing is one: "at no cost to you").
_COSTS = re.compile(r"^\s*(?:will|would|does|do|is|am)\s+(?:it|this|that|they|these|i|we)\s+"
                    r"(?:still\s+|really\s+)?(?:cost|owe|be charged|get charged)\b",
                    re.IGNORECASE)
_YES_NO = re.compile(r"^\s*(?:is|are|does|do|did|can|could|will|would|am|may|must|"
                     r"should|has|have)\b", re.IGNORECASE)
# A sentence ends at "?" or "!" and a space, at ";", or at "." and a space unless the
# full stop ends an abbreviation ("U.S.", "a.m.", "etc."); what follows may be lower
# case, as members type on phones ("... for my mom. how much is a hearing aid?").
_SENTENCE_END = re.compile(r"[.?!]\s+|;\s*")
_ABBREVIATION = re.compile(r"(?:\b(?:[A-Za-z]\.){2,}|\b(?:etc|vs|e\.g|i\.e|dr|mr|mrs|ms|st|"
                           r"jr|sr)\.)$", re.IGNORECASE)


def sentences(question: str) -> list[str]:
    """The sentences of ``question`` (a "U.S." or "a.m." inside one does not end it)."""
    text, found, start = question.strip(), [], 0
    for end in _SENTENCE_END.finditer(text):
        stop = end.start() + 1  # the mark stays with its sentence
        if text[end.start()] == "." and _ABBREVIATION.search(text[start:stop]):
            continue
        found.append(text[start:stop])
        start = end.end()
    found.append(text[start:])
    return [s.strip() for s in found if s.strip()]


def asking(question: str) -> str:
    """The sentences of ``question`` that ask (end in a question mark), or all of it."""
    asked = [s for s in sentences(question) if s.endswith("?")]
    return " ".join(asked) or question


# "... what do we pay at the hospital there?", "Will the plan pay for them?": the asking
# sentence ends on a word standing for something its story told.
_POINTS_BACK = re.compile(r"\b(?:it|them|there)\s*\?", re.IGNORECASE)


def points_back(question: str) -> bool:
    """``question`` is told as a story and its asking sentence ends by pointing back at
    it ("My husband broke his arm in Mexico; what do we pay at the hospital there?")."""
    asked = asking(question)
    return asked != question.strip() and bool(_POINTS_BACK.search(asked))


def wants(question: str) -> Wants:
    """The kind of answer ``question`` asks for (the rules above, in order). A question
    told as a story ("My husband broke his arm... what do we pay?") is read by its
    asking sentences, the ones that end in a question mark."""
    asked = asking(question)
    parts = re.split(r"[.?!;,]\s*", asked)
    if any(_IS_THERE_A_DEADLINE.match(part) for part in parts):
        return Wants.TIME
    if any(_IS_THERE_A_NUMBER.match(part) for part in parts):
        return Wants.PHONE
    if any(_ARE_THEY_OPEN.match(part) for part in parts):
        return Wants.HOURS
    if any(_COSTS.match(part) for part in parts):
        return Wants.AMOUNT
    if any(_COVERED.match(part) or _YES_NO.match(part) for part in parts):
        return Wants.YES_NO
    for kind, pattern in _ASKS:
        if pattern.search(asked):
            return kind
    return Wants.ANY


_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                 r"fifteen|twenty|thirty|once|twice|unlimited")
# ("may" only before a date: "you may" is no month)
_MONTHS = (r"january|february|march|april|may(?= \d)|june|july|august|september|october|"
           r"november|december")
_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"

_VALUES = {
    Wants.AMOUNT: re.compile(
        r"\$\s?\d|\d\s?%|\b(?:no|without)\s+(?:\w+\s+){0,2}(?:coinsurance|copayments?|"
        r"copays?|cost|charge|deductible|premium)\b|\bat no (?:extra |additional )?cost\b|"
        r"\bfree of charge\b|\bcovered in full\b|\b(?:is|are) waived\b|"
        # ("If you do not pay your penalty" is a condition, not a price)
        r"(?<!if you do )(?<!if you )\b(?:not|never|don['\u2019]t)\s+(?:have to\s+)?pay\b|"
        r"\bno\s+(?:\w+\s+){0,3}premium\b", re.IGNORECASE),
    Wants.HOURS: re.compile(
        r"\b\d{1,2}(?::\d\d)?\s*[ap]\.?m\.?|\b24 hours\b|\b\d days a week\b|\b(?:" + _DAYS +
        r")\b", re.IGNORECASE),
    Wants.PHONE: re.compile(
        r"\b(?:1[-.\s])?\(?\d{3}\)?[-.\s]\d{3}[-.\s]\d{4}\b|\b1-\d{3}-[A-Z]{4,}\b|\b711\b"),
    Wants.COUNT: re.compile(
        r"\b\d+\b|\b(?:" + _NUMBER_WORDS + r")\b", re.IGNORECASE),
    Wants.TIME: re.compile(
        r"\b\d{1,2}(?::\d\d)?\s*[ap]\.?m\.?|\bmidnight\b|\bnoon\b|\b(?:" + _MONTHS + r")\b|"
        r"\b(?:" + _DAYS + r")\b|\b\d+[\s-]*(?:calendar\s+|business\s+)?(?:days?|hours?|weeks?|"
        r"months?|years?)\b|\b(?:" + _NUMBER_WORDS + r")\s+(?:calendar\s+|business\s+)?"
        r"(?:days?|hours?|weeks?|months?|years?)\b|\bby the \d|"
        r"\beach (?:day|week|month|year)\b|\bper (?:day|week|month|year)\b|"
        r"\bthe \d{1,2}(?:st|nd|rd|th)\b",
        re.IGNORECASE),
    Wants.YES_NO: re.compile(
        r"\b(?:covered|covers?|not|no|never|required|requires?|must|can|cannot|may|"
        r"includes?|included|excluded|allowed|eligible|yes)\b", re.IGNORECASE),
    Wants.PROCEDURE: re.compile(
        r"\b(?:call|send|mail|write|ask|contact|submit|file|fill out|request|visit|go to|"
        r"step|sign|complete|bring|show|get|make)\b|\bP\.?\s?O\.? Box\b", re.IGNORECASE),
}


def holds_value(kind: Wants, text: str) -> bool:
    """True when ``text`` holds a value of the kind asked for (any text does for
    ``Wants.ANY``)."""
    pattern = _VALUES.get(kind)
    return pattern is None or pattern.search(text) is not None


def value_spans(kind: Wants, text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds a value of the kind asked for: (start, end) of each."""
    pattern = _VALUES.get(kind)
    return [] if pattern is None else [m.span() for m in pattern.finditer(text)]


def needs_value(kind: Wants) -> bool:
    """An answer of this kind must hold its value: amounts, phone numbers, hours, counts
    and times. (A yes/no or a procedure question can be answered in words alone.)"""
    return kind in (Wants.AMOUNT, Wants.PHONE, Wants.HOURS, Wants.COUNT, Wants.TIME)
