"""What makes a sentence answer a question, beyond the words it shares with it.

Small, separate tests the extractive answerer (``adapters.extractive_answerer``)
weighs: a verdict for a yes/no question, a sentence that only sends the reader
elsewhere, the network side a question names, a value standing in one clause
with the question's words, and whose time limit a question asks about and a
sentence gives (the member's, the plan's), a step told to the member ("simply
contact your PCP"), and what a "how many" question counts
("how many days": "100 days", not "days 1-20").
"""

from __future__ import annotations

import re

from adapters import english
from domain.questions import Wants, value_spans

#: How many words apart a value and one of the question's words may stand and still
#: be in one clause.
CLAUSE_WORDS = 8

_REFERS = re.compile(r"\b(?:see|refer to|described in|go to|look in)\b[^.;]{0,40}?"
                     r"\b(?:chapter|section|appendix)\s+\d", re.IGNORECASE)
_OUT_OF_NETWORK = re.compile(r"\b(?:out[- ]of[- ]network|non[- ]network|non-plan)\b",
                             re.IGNORECASE)
_IN_NETWORK = re.compile(r"\b(?:in[- ]network|network (?:provider|pharmac|doctor))",
                         re.IGNORECASE)
_VERDICT = re.compile(
    r"\b(?:there (?:is|are) no|(?:is|are)(?: not)? (?:covered|included|excluded|required)|"
    r"not covered|(?:do|does) not (?:need|have to|require|cover|pay)|"
    r"(?:don['\u2019]t|doesn['\u2019]t) (?:need|have to|require|cover|pay)|"
    r"(?:you|members?) (?:must|will need to|need to|have to) (?:get|have|ask|obtain)|"
    r"we (?:cover|pay|do not cover|don['\u2019]t cover)|covered (?:only )?(?:if|when|for)|"
    r"requires? (?:prior )?(?:authorization|approval|a referral)|no (?:referral|approval) "
    r"(?:is )?(?:needed|required)|"
    # what the member will not get ("you usually will not acquire ownership")
    r"you (?:usually |generally )?(?:will|would) not|you won['\u2019]t)\b", re.IGNORECASE)


def says_yes_or_no(sentence: str) -> bool:
    """A sentence that gives a verdict: "There is no deductible", "X is not covered",
    "you do not need a referral", "we cover ...", "requires prior authorization"."""
    return _VERDICT.search(sentence) is not None


def refers_elsewhere(sentence: str) -> bool:
    """A sentence that sends the reader elsewhere ("See Chapter 4, Section 2.1")."""
    return _REFERS.search(sentence) is not None


def network_side(question: str) -> str | None:
    """"out" when the question asks about going out of the plan's network, "in" when it
    says in-network, None when it says neither."""
    if _OUT_OF_NETWORK.search(question):
        return "out"
    if _IN_NETWORK.search(question):
        return "in"
    return None


def on_side(side: str | None, text: str) -> int:
    """+1 when ``text`` is on the side asked about, -1 when only on the other one."""
    if side is None:
        return 0
    out, inside = _OUT_OF_NETWORK.search(text) is not None, _IN_NETWORK.search(text) is not None
    mine, other = (out, inside) if side == "out" else (inside, out)
    return 1 if mine else -1 if other else 0


_CLAUSE_BREAK = re.compile(r"[;:]|[.!?]\s")


def same_clause(kind: Wants, text: str, held: frozenset[str]) -> bool:
    """The value and one of the question's words stand in one clause: at most
    ``CLAUSE_WORDS`` words apart, no sentence or clause mark (";") between."""
    if not held:
        return False
    places = [(start, end) for start, end, word in english.words(text) if word in held]
    for low, high in value_spans(kind, text):
        for start, end in places:
            between = text[min(high, end):max(low, start)]
            if len(between.split()) <= CLAUSE_WORDS and not _CLAUSE_BREAK.search(between):
                return True
    return False


# Whose time limit a question asks about: the member's ("how long do I have to
# appeal", "the deadline to file") or the plan's ("how long does the plan have to
# answer", "how quickly will I get an answer").
_MEMBER_ASKS = re.compile(
    r"\b(?:do|can|must|should) (?:i|we) have\b|\bhave (?:i|we) got\b|"
    r"\bdeadline (?:to|for) (?:file|filing|ask|send|submit|make|appeal|request)|"
    r"\bhow (?:long|fast|soon|quickly) (?:do|can|must|should) (?:i|we)\b|"
    r"\bby when (?:do|must|should) (?:i|we)\b", re.IGNORECASE)
_PLAN_ASKS = re.compile(
    r"\b(?:does|will|must|do) (?:the plan|the company|they|you|it) (?:have to|take|need)\b|"
    r"\bhow (?:long|fast|soon|quickly) (?:does|will|do|must) (?:the plan|they|you|it)\b|"
    r"\b(?:will|do|can) (?:i|we) (?:get|hear|receive)\b", re.IGNORECASE)
# Whose time limit a sentence gives.
_MEMBER_DUTY = re.compile(r"\byou (?:must|need to|have to|should|will need to)\b|"
                          r"\byou have (?:\w+ ){0,2}(?:days?|months?|hours?)\b|"
                          r"\byour (?:request|appeal|claim)s? must\b", re.IGNORECASE)
_PLAN_DUTY = re.compile(r"\b(?:we|the plan|our plan) (?:must|will|have to|need to)\b|"
                        # said of the decision, not of who makes it: "Most complaints are
                        # answered within 30 days", "A standard decision is usually made ..."
                        r"\b(?:is|are|will be)\s+(?:usually\s+|generally\s+|normally\s+)?"
                        r"(?:made|answered|decided|given|reviewed|processed)\s+within\b",
                        re.IGNORECASE)
_OTHERS_DUTY = re.compile(r"\b(?:organization|board|council|judge|QIO|Medicare) "
                          r"(?:must|will)\b", re.IGNORECASE)


def whose_time(question: str) -> str | None:
    """"member" when the question asks how long the member has to do something,
    "plan" when how long the plan takes (to answer, to decide), None otherwise."""
    if _MEMBER_ASKS.search(question):
        return "member"
    if _PLAN_ASKS.search(question):
        return "plan"
    return None


def duty_of(whose: str | None, sentence: str) -> int:
    """+1 when ``sentence`` gives a time limit of the party asked about, -1 when only
    another party's ("the review organization must", or the member's for a plan's)."""
    if whose is None:
        return 0
    member = _MEMBER_DUTY.search(sentence) is not None
    plan = _PLAN_DUTY.search(sentence) is not None
    others = _OTHERS_DUTY.search(sentence) is not None
    mine = member if whose == "member" else plan
    theirs = plan or others if whose == "member" else member or others
    return 1 if mine else -1 if theirs else 0


_HOW_MANY = re.compile(r"\bhow many\s+((?:[\w'\u2019-]+\s*){1,4})", re.IGNORECASE)
# Where the counted noun's phrase ends ("how many one-way rides | to ...").
_PHRASE_ENDS = frozenset([
    "of", "to", "for", "in", "on", "at", "per", "do", "does", "did", "can", "could", "will",
    "would", "should", "must", "may", "might", "are", "is", "was", "were", "have", "has",
    "had", "i", "we", "you", "my", "our", "a", "an", "the", "each", "every"])
# A number that counts (not an amount, "$75", nor a share, "20%"), and the few words
# after it, up to a punctuation mark: what it counts.
_COUNTED = re.compile(r"(?<![$\d.,])\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|"
                      r"ten|eleven|twelve|fifteen|twenty|thirty)\b(?![%.,]?\d|\s?%)"
                      r"((?:[\s\-]+[A-Za-z'\u2019]+){1,3})")


def counted(question: str) -> str | None:
    """What a "how many" question counts, as a lexeme ("how many days of care": day)."""
    match = _HOW_MANY.search(question)
    if match is None:
        return None
    noun = None
    for word in match.group(1).split():
        if word.lower() in _PHRASE_ENDS:
            break
        noun = word
        if word.endswith(("'", "\u2019")):  # "how many days' supply": days
            break
    return None if noun is None else english.lexeme(noun.strip("'\u2019").split("-")[-1])


def counts(noun: str | None, sentence: str) -> bool:
    """``sentence`` gives a number of ``noun``, the number first ("100 days", "24
    one-way rides", "a 90-day supply"); "days 1-20" numbers the days, not counts them."""
    if noun is None:
        return False
    return any(noun in english.lexemes(match.group(1))
               for match in _COUNTED.finditer(sentence))


# A step told to the member: a step's verb opening the sentence or a clause, or after
# "please", "simply", "just" ("If you wish to ..., simply contact your PCP"; "Send us a
# written request"; "To choose this option, please contact Member Services").
_INSTRUCTION = re.compile(
    r"(?:^|[,;:\u2014\u2013]\s*|\b(?:please|simply|just|then|first)\s+)(?:call|contact|send|"
    r"mail|write|ask|submit|fill out|complete|go to|visit|sign|bring|tell|use|choose|"
    r"select|request|file)\b", re.IGNORECASE)


def instructs(sentence: str) -> bool:
    """``sentence`` tells the member a step to take ("simply contact your PCP", "Send us
    a written request"), not only what happens ("The group will review your request")."""
    return _INSTRUCTION.search(sentence.lstrip("\u2022-* ")) is not None


# "Where do I mail the check?", "Where should we send the form?": the answer is an
# address.
_WHERE_TO_SEND = re.compile(r"\bwhere (?:do|can|should|must|would) (?:i|we) (?:send|mail|"
                            r"write|post|return|submit|fax)\b|\bwhat(?:'s| is) the "
                            r"(?:mailing )?address\b|\bwhich address\b", re.IGNORECASE)
# A postal address: a post office box, or a state and ZIP code ("CA 90051-7894").
_ADDRESS = re.compile(r"\bP\.?\s?O\.?\s?Box\s+\d+|\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")


def asks_address(question: str) -> bool:
    """``question`` asks where to send something: its answer is an address."""
    return _WHERE_TO_SEND.search(question) is not None


def holds_address(text: str) -> bool:
    """``text`` gives a postal address (a P.O. Box, a state and ZIP code)."""
    return _ADDRESS.search(text) is not None


# "What happens if I don't choose one?", "What if I miss the deadline?": the answer is
# what follows on that condition, in a sentence that states it ("If you do not select a
# PCP within 30 days, we will assign you one").
_WHAT_IF = re.compile(r"\bwhat (?:happens|will happen|would happen|if)\b", re.IGNORECASE)
_NOT = re.compile(r"\b(?:not|never|no)\b|n['\u2019]t\b|\b(?:fail|forget|forgot|miss|missed|"
                  r"late)\b", re.IGNORECASE)
_IF_CLAUSE = re.compile(r"(?:^|[:;,]\s*|\b(?:note|remember)\W+)(?:if|unless|when)\b([^,;]*)",
                        re.IGNORECASE)


def asks_consequence(question: str) -> bool | None:
    """None unless ``question`` asks what follows on a condition ("what happens if ...");
    then whether the condition is a not-doing ("if I don't choose one")."""
    match = _WHAT_IF.search(question)
    if match is None:
        return None
    return _NOT.search(question[match.end():]) is not None


def states_condition(negated: bool | None, sentence: str) -> bool:
    """``sentence`` opens a clause on a condition ("If you do not ..., ..."), a not-doing
    one when the question's is (``negated``)."""
    if negated is None:
        return False
    return any((_NOT.search(m.group(1)) is not None) == negated
               for m in _IF_CLAUSE.finditer(sentence))


# "Is there a deductible for drugs?": whether one exists, answered by "There is no
# deductible ..." whatever else that sentence names.
_IS_THERE = re.compile(r"^\s*(?:is|are) there (?:a|an|any)\s+((?:[\w-]+\s+){0,2}?[\w-]+)"
                       r"(?=\s+(?:for|on|in|to|with|if|when|before|after)\b|\s*[?,]|$)",
                       re.IGNORECASE)
_THERE_IS = re.compile(r"\bthere (?:is|are) (?:no|a|an|not any)\s+((?:[\w-]+\s+){0,2}[\w-]+)",
                       re.IGNORECASE)


def asks_existence(question: str) -> frozenset[str]:
    """What a yes/no question asks exists ("Is there a deductible for drugs?": deductible),
    as lexemes; empty when it asks nothing of the kind."""
    for part in re.split(r"[.?!;]\s*", question):
        match = _IS_THERE.match(part)
        if match:
            words = match.group(1).split()
            return english.lexemes(words[-1])
    return frozenset()


def states_existence(thing: frozenset[str], sentence: str) -> bool:
    """``sentence`` says whether ``thing`` exists ("There is no deductible for ...")."""
    return bool(thing) and any(thing <= english.lexemes(m.group(1))
                               for m in _THERE_IS.finditer(sentence))
