"""The offline answerer quotes the sentence that holds what the question asks for.

The passages are written the way a parsed Evidence of Coverage reads: chart cells
broken across lines, the service's name above what you pay, contact tables.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from adapters.answer_units import sentences
from adapters.extractive_answerer import HEADER, ExtractiveAnswerer
from domain.grounding import NOT_COVERED_MARKER, GroundedPrompt, Passage, Usage

EOC = uuid4()

AMBULANCE = """Ambulance services
Covered ambulance services include fixed wing, rotary wing, and
ground ambulance services to the nearest appropriate facility.
Emergency ambulance services are covered worldwide. See
Chapter 3, Section 3.1 for more information.
$180 copayment for each
one-way trip.
Prior authorization rules
apply for non-emergency
ambulance services."""

EMERGENCY = """Emergency care
A medical emergency is when you believe you need care right away.
Call 911 for help or go to the nearest emergency room.
Emergency room services are
$90 copayment for each
visit.
The copayment is waived
if you are admitted to the
hospital."""

CONTACTS = """Member Services - Contact Information
CALL 1-800-559-3500
Calls to this number are free. Hours are 8 a.m. to 8 p.m., 7 days a week.
TTY 711
If you believe a provider has balance billed you, call Member Services."""

FITNESS = """Fitness benefit
A membership at participating fitness centers is included with your plan."""


def passage(label: int, text: str, filename: str = "eoc.pdf",
            document_id: UUID = EOC, page: int = 60) -> Passage:
    return Passage(label=label, chunk_id=uuid4(), document_id=document_id, filename=filename,
                   page=page, text=text, similarity=0.5, token_count=len(text.split()))


async def answer(question: str, *passages: Passage) -> str:
    pieces = []
    async for piece in ExtractiveAnswerer().stream(GroundedPrompt(question, passages)):
        if not isinstance(piece, Usage):
            pieces.append(piece)
    return "".join(pieces)


async def test_an_amount_is_quoted_from_the_chart_row_with_the_service_above_it() -> None:
    text = await answer("How much do I pay for an ambulance trip?",
                        passage(1, EMERGENCY), passage(2, AMBULANCE))

    assert text.startswith(HEADER)
    assert "$180 copayment for each one-way trip. [2]" in text
    assert "$90" not in text


async def test_a_chart_value_without_the_questions_words_is_quoted_under_its_service(
) -> None:
    text = await answer("What do I pay for emergency ambulance services?", passage(1, AMBULANCE))

    assert text.splitlines()[1:3] == [
        "- Emergency ambulance services are covered worldwide. [1]",  # what it is for
        "- $180 copayment for each one-way trip. [1]",
    ]


async def test_the_fact_is_quoted_rather_than_a_sentence_that_shares_its_words() -> None:
    text = await answer("What is the copayment for an emergency room visit?",
                        passage(1, EMERGENCY))

    assert "$90 copayment for each visit. [1]" in text
    assert "Call 911" not in text


async def test_opening_hours_are_answered_with_the_hours() -> None:
    text = await answer("What hours is Member Services open?", passage(1, CONTACTS))

    assert "8 a.m. to 8 p.m., 7 days a week" in text
    assert "balance billed" not in text


async def test_a_phone_question_is_answered_with_a_number() -> None:
    text = await answer("What number do TTY users call?", passage(1, CONTACTS))

    assert "TTY 711. [1]" in text


async def test_an_amount_question_is_never_answered_without_an_amount() -> None:
    text = await answer("How much does the fitness membership cost?", passage(1, FITNESS))

    assert text == NOT_COVERED_MARKER


async def test_a_question_the_passages_do_not_answer_is_not_covered() -> None:
    text = await answer("Does the plan pay for my dog's visits to the vet?",
                        passage(1, EMERGENCY), passage(2, FITNESS))

    assert text == NOT_COVERED_MARKER


async def test_a_yes_no_question_is_answered_by_the_sentence_that_says_so() -> None:
    text = await answer("Do I have to meet a deductible before the plan pays?",
                        passage(1, "There is no deductible for this plan. You begin in the "
                                   "Initial Coverage Stage."))

    assert "There is no deductible for this plan. [1]" in text


async def test_each_fact_is_quoted_once_from_one_copy_naming_the_other() -> None:
    copy = uuid4()

    text = await answer("How much do I pay for an ambulance trip?",
                        passage(1, AMBULANCE, "eoc.pdf"),
                        passage(2, AMBULANCE, "eoc [copy].pdf", document_id=copy, page=61))

    assert text.count("$180 copayment for each one-way trip") == 1
    assert "[2]" not in text
    # which copy is quoted, and the other named without brackets (they would read as
    # citations)
    assert "(quoted from \u201ceoc.pdf\u201d, page 60; \u201ceoc (copy).pdf\u201d says the same)" \
        in text


async def test_the_overlap_of_two_chunks_of_one_document_is_quoted_once() -> None:
    text = await answer("How much do I pay for an ambulance trip?",
                        passage(1, AMBULANCE), passage(2, AMBULANCE, page=61))

    assert text.count("$180 copayment") == 1
    assert "says the same" not in text  # the same document: no other copy to name


def test_chart_cells_broken_across_lines_are_one_sentence_and_bullets_their_own() -> None:
    text = ("Primary care visit\n$0 copayment for each\noffice visit.\n"
            "This includes:\n\u2022 X-rays\n\u2022 Laboratory tests.\n"
            "Send it to P.O. Box 22644 by 8 a.m. on Monday. Then wait.")

    assert sentences(text) == [
        "Primary care visit $0 copayment for each office visit.",
        "This includes:",
        "X-rays",
        "Laboratory tests.",
        "Send it to P.O. Box 22644 by 8 a.m. on Monday.",
        "Then wait.",
    ]


def test_a_contact_tables_rows_are_apart() -> None:
    assert sentences(CONTACTS)[:3] == [
        "Member Services - Contact Information",
        "CALL 1-800-559-3500",
        "Calls to this number are free.",
    ]


def test_a_web_address_cut_by_a_line_break_stays_whole() -> None:
    text = "Fill out the form on our website at: https://www.scanhealthplan.\ncom/contact-us."

    assert sentences(text) == [
        "Fill out the form on our website at: https://www.scanhealthplan.com/contact-us."]


async def test_a_copy_the_prompt_left_out_is_named_beside_the_line_it_also_holds() -> None:
    kept = Passage(label=1, chunk_id=uuid4(), document_id=EOC, filename="eoc.pdf", page=60,
                   text=AMBULANCE, similarity=0.5, token_count=50, copies=("eoc copy.pdf",))

    text = await answer("How much do I pay for an ambulance trip?", kept)

    assert ("$180 copayment for each one-way trip. [1] (quoted from \u201ceoc.pdf\u201d, "
            "page 60; \u201ceoc copy.pdf\u201d says the same)") in text
