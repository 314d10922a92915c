"""The question sets the retrieval and answer benchmarks ask, and their two halves.

Each file is a JSON list of ``{"question", "document", "phrase", "half"}`` (plus,
in all but the first, ``"voice"``):

- ``bench/retrieval_questions.json``: **the 46**, the set search was built and tuned
  on (40 on the 232-page EOC, 6 on the one-page policy). ``bench.retrieval`` and the
  CI retrieval quality floor ask these by default, so their figures stay comparable.
- ``bench/answer_questions.json``: questions added for the answerer across the EOC's
  chapters, some in the booklet's words and some (``"voice": "member"``) in a
  member's own. A ``phrase`` of ``null`` marks a question the booklet does not
  answer: the honest answer is "not covered".

- ``bench/blind_questions.json``: 16 more, all held out, written after the held-out
  half above had been read while tuning (so no longer blind) and before the last
  changes; asked once, at the end (``--set blind``).
- ``bench/fresh_questions.json``: 71 (67 on the EOC across its eleven chapters and 4 on
  the one-page policy; 43 in a member's own words; 4 the booklet does not answer,
  checked by searching its whole text). Written on 2026-12-06 by a helper engineer who
  was not tuning the answerer, to replace the held-out half above once that half had
  been read while tuning; written blind and committed before its one run. From
  2026-12-07 its misses were read while tuning, so it is a tuning set now, no longer
  held out (its ``half`` values stay ``held-out`` in the file, as they were when it was
  asked blind). Asked on its own (``--set fresh``), not part of ``all``.
- ``bench/tuning2_questions.json``: 50 more, all tuning, on the EOC across its twelve
  chapters (43 answerable, 7 the booklet is silent on; 30 in a member's own words),
  written blind from the booklet's parsed text to give the answerer a larger, more
  varied tuning set. Asked on its own (``--set tuning2``), not part of ``all``.
- ``bench/fresh2_questions.json``: 94, all held-out (91 on the EOC across its twelve
  chapters and 3 on the one-page policy; 65 in a member's own words; 5 the documents do
  not answer, checked by searching their whole text), replacing ``fresh`` as the held-out
  set. Written on 2026-12-07 by a helper engineer who was not tuning the answerer, from
  the booklet's text, choosing facts no other set asks. Written blind: without reading
  the answerer, the question-kind rules, the English word module, the lay terms, the
  search SQL, or any figures or misses of the other sets, and without asking the
  answerer or search any of these questions; committed before the one run that
  reported its figures, and never changed after seeing a result. Never tune on it.
  Asked on its own (``--set fresh2``), not part of ``all``.

``document`` is a file name of the corpus; ``phrase`` words of it that answer the
question (matched ignoring case and runs of white space). ``half`` is ``tuning`` or
``held-out``: alternate questions of each of the first two files, in file order,
fixed in the files before the answerer was changed (``blind``, ``fresh`` and
``fresh2`` are all held-out in their files, ``tuning2`` all tuning);
eight questions the booklet is silent on were added to the tuning half later, to
measure an honest "not covered".
Tune on the tuning half only; the held-out half says how well that generalises.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

BENCH = Path(__file__).resolve().parent
THE_46 = BENCH / "retrieval_questions.json"
ADDED = BENCH / "answer_questions.json"
BLIND = BENCH / "blind_questions.json"
FRESH = BENCH / "fresh_questions.json"
FRESH2 = BENCH / "fresh2_questions.json"
TUNING2 = BENCH / "tuning2_questions.json"
HALVES = ("tuning", "held-out")
VOICES = ("booklet", "member")
#: ``--set`` choices: the file(s) each one reads.
SETS = {"46": (THE_46,), "added": (ADDED,), "all": (THE_46, ADDED), "blind": (BLIND,),
        "fresh": (FRESH,), "tuning2": (TUNING2,), "fresh2": (FRESH2,)}


@attrs.frozen
class Question:
    question: str
    document: str
    phrase: str | None
    half: str = attrs.field(default="tuning", validator=attrs.validators.in_(HALVES))
    voice: str = attrs.field(default="booklet", validator=attrs.validators.in_(VOICES))

    @property
    def answerable(self) -> bool:
        """False when the document does not answer it (the answer should say so)."""
        return self.phrase is not None


def load_questions(path: Path = THE_46) -> list[Question]:
    """Every question of one file, with a clear error for a malformed one."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, list) or not raw:
        raise SystemExit(f"{path}: expected a non-empty JSON list of questions")
    questions = []
    for number, item in enumerate(raw, 1):
        try:
            questions.append(Question(**item))
        except (TypeError, ValueError) as exc:
            raise SystemExit(f"{path}: question {number}: {exc}") from None
    return questions


def load_set(name: str = "46", half: str | None = None,
             paths: Iterable[Path] | None = None) -> list[Question]:
    """The questions of ``--set NAME`` (or of ``paths``), of one half or both."""
    if paths is None:
        if name not in SETS:
            raise SystemExit(f"unknown question set {name!r}: choose one of {', '.join(SETS)}")
        paths = SETS[name]
    if half is not None and half not in HALVES:
        raise SystemExit(f"unknown half {half!r}: choose tuning or held-out")
    found = [q for path in paths for q in load_questions(path)]
    return [q for q in found if half is None or q.half == half]


def halves(questions: Sequence[Question]) -> dict[str, list[Question]]:
    """The questions of each half present, tuning first."""
    split = {h: [q for q in questions if q.half == h] for h in HALVES}
    return {h: qs for h, qs in split.items() if qs}
