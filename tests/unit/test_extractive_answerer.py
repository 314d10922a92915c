"""The offline answerer quotes the sentence that holds what the question asks for.

The passages are written the way a parsed Evidence of Coverage reads: chart cells
broken across lines, the service's name above what you pay, contact tables.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from adapters.answer_signals import counted, counts
from adapters.answer_units import sentences, service, units
from adapters.extractive_answerer import (
    HEADER,
    ExtractiveAnswerer,
    network_side,
    refers_elsewhere,
    says_yes_or_no,
)
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


# Benefit-chart rows as the PDF parser writes them: one line per row, cells split by a
# tab (adapters/parsers/pdf_tables.py).
CHART = (
    "Ambulance services Covered ambulance services include fixed wing, rotary wing, and "
    "ground ambulance services to the nearest appropriate facility. Emergency ambulance "
    "services are covered worldwide.\t$180 copayment for each one-way trip. Prior "
    "authorization rules apply for non-emergency ambulance services.\n"
    "Emergency care Emergency care refers to services that are furnished by a provider "
    "qualified to furnish emergency services and needed to evaluate or stabilize an "
    "emergency medical condition. Call 911 for help.\t$90 copayment for each visit. The "
    "copayment is waived if you are admitted to the hospital within 24 hours.\n"
    "Knee scooters\tNot covered under any condition\n")

CONTACT_TABLES = (
    "Method\tMember Services \u2013 Contact Information\n"
    "CALL\t1-800-559-3500 Calls to this number are free.\n"
    "FAX\t1-562-989-5181\n"
    "Method\tAppeals For Medical Care \u2013 Contact Information\n"
    "CALL\t1-800-559-3500 Calls to this number are free.\n"
    "FAX\t1-562-989-0958\n")

TIERS = (
    "Tier\tStandard retail cost-sharing (in-network)\tOut-of-network cost-sharing\n"
    "Cost-Sharing Tier 1 (Preferred Generic)\t$10 copay\t$25 copay\n")


def test_a_chart_row_is_never_joined_to_the_next_and_a_short_one_reads_whole() -> None:
    assert sentences("Knee scooters\tNot covered under any condition\n"
                     "Wigs\tNot covered under any condition") == [
        "Knee scooters \u2014 Not covered under any condition",
        "Wigs \u2014 Not covered under any condition",
    ]


def test_a_long_rows_cost_is_quoted_under_its_service() -> None:
    found = sentences(CHART)

    assert "Ambulance services \u2014 $180 copayment for each one-way trip." in found
    assert "Emergency care \u2014 $90 copayment for each visit." in found


async def test_an_amount_is_taken_from_the_row_of_the_service_asked_about() -> None:
    text = await answer("What do I pay for an emergency visit?", passage(1, CHART))

    assert text.splitlines()[1] == \
        "- Emergency care \u2014 $90 copayment for each visit. [1]"
    # the row of another service is never quoted first, nor as if it were this one's
    assert "Emergency care \u2014 $180" not in text


async def test_a_contact_tables_row_is_found_by_its_tables_title_and_quoted_under_it(
) -> None:
    text = await answer("What is the fax number for medical care appeals?",
                        passage(1, CONTACT_TABLES))

    assert text.splitlines()[1:3] == [
        "- Appeals For Medical Care \u2013 Contact Information. [1]",  # whose number
        "- FAX 1-562-989-0958. [1]",
    ]
    assert "5181" not in text


async def test_a_tables_column_header_names_the_value_and_the_network_side_decides(
) -> None:
    text = await answer("What do I pay out-of-network for a tier 1 drug?",
                        passage(1, TIERS))

    assert "Out-of-network cost-sharing: $25 copay" in text  # the column names the value


async def test_the_network_side_the_question_names_decides_between_two_values() -> None:
    text = await answer("What do I pay out-of-network for a specialist visit?",
                        passage(1, "Specialist visit\nIn-network specialist visits: you pay "
                                   "$10 per visit.\nOut-of-network specialist visits: you "
                                   "pay $40 per visit."))

    assert text.splitlines()[1] == ("- Out-of-network specialist visits: you pay $40 per "
                                    "visit. [1]")


def test_the_network_side_a_question_names() -> None:
    assert network_side("What do I pay out of network for a tier 1 drug?") == "out"
    assert network_side("Is an in-network pharmacy cheaper?") == "in"
    assert network_side("What do I pay for a tier 1 drug?") is None


async def test_a_yes_no_question_is_answered_by_the_exclusion_rows_verdict() -> None:
    text = await answer("Are knee scooters covered?", passage(1, CHART))

    assert "Knee scooters \u2014 Not covered under any condition. [1]" in text


async def test_a_sentence_that_answers_wins_over_one_that_sends_the_reader_elsewhere(
) -> None:
    text = await answer(
        "How long do I have to ask for a fast appeal?",
        passage(1, "To ask for a fast appeal within 60 days, see Chapter 9, Section 5.2.\n"
                   "A fast appeal must be made within 60 days."))

    assert text.splitlines()[1] == "- A fast appeal must be made within 60 days. [1]"
    assert refers_elsewhere("See Chapter 4, Section 2.1 for details.")
    assert not refers_elsewhere("You must ask within 60 days.")


async def test_a_yes_no_question_prefers_the_sentence_that_gives_a_verdict() -> None:
    text = await answer(
        "Do I have to meet a deductible before the plan pays?",
        passage(1, "Members who meet a deductible must pay it before the plan pays."),
        passage(2, "There is no deductible for this plan."))

    assert text.splitlines()[1] == "- There is no deductible for this plan. [2]"
    assert says_yes_or_no("Cosmetic dentistry is not covered.")
    assert not says_yes_or_no("A deductible is an amount you pay.")


async def test_of_two_near_identical_sentences_the_one_under_the_questions_heading_wins(
) -> None:
    filler = "".join(f"Line {n} says little.\n" for n in range(10))
    text = await answer(
        "How long do we have to answer a standard appeal about medical care?",
        passage(1, f"## Appeals about drugs\n{filler}We answer a standard appeal within "
                   "7 days."),
        passage(2, f"## Appeals about medical care\n{filler}We answer a standard appeal "
                   "within 30 days."))

    assert text.splitlines()[1] == "- We answer a standard appeal within 30 days. [2]"


async def test_a_cells_value_is_found_by_its_rows_service() -> None:
    chart = ("Transportation (Routine) Rides to plan-approved locations.\t$0 copayment "
             "for each one-way trip.\n"
             "Ambulance services Covered ambulance services include fixed wing, rotary wing, "
             "and ground ambulance services to the nearest appropriate facility, and more "
             "words to make a long row of the chart, so that its cells are quoted apart "
             "from each other under the service.\t$180 copayment for each one-way trip.\n")

    text = await answer("How much do I pay for an ambulance trip?", passage(1, chart))

    assert text.splitlines()[1] == \
        "- Ambulance services \u2014 $180 copayment for each one-way trip. [1]"


def test_a_heading_is_what_the_sentences_under_it_stand_in() -> None:
    found = units("## SECTION 4 Deductibles\nThere is none.\n## SECTION 5 Stages\nTwo.")

    assert [(u.text, u.heading) for u in found if not u.is_heading] == [
        ("There is none.", "SECTION 4 Deductibles"), ("Two.", "SECTION 5 Stages")]


def test_a_rows_service_is_the_first_words_of_its_first_cell() -> None:
    assert service("Ambulance services Covered ambulance services include") == \
        "Ambulance services"
    assert service("Breast cancer screening (mammograms) Covered services include:") == \
        "Breast cancer screening (mammograms)"
    assert service("Hospice care (continued) For drugs that may be covered") == \
        "Hospice care (continued)"
    assert service("Knee scooters") == "Knee scooters"
    assert service("Health club membership* SCAN Classic provides a membership") == \
        "Health club membership"
    assert service("Welcome to Medicare preventive visit The plan covers the one-time") == \
        "Welcome to Medicare preventive visit"
    assert service("Inpatient stay: Covered services received in a hospital") == \
        "Inpatient stay"
    assert service("Abdominal aortic aneurysm screening A one-time screening") == \
        "Abdominal aortic aneurysm screening"


async def test_the_heading_a_sentence_stands_under_holds_the_questions_words_with_it(
) -> None:
    policy = ("## 3.2 Out-of-Network Services\nLimited coverage with higher co-pay.\n"
              "## 3.3 Prescription Drugs\nGeneric and brand-name prescriptions are covered "
              "with tiered co-payment structure.\n")

    text = await answer("Are prescription drugs covered under the plan?", passage(1, policy),
                        passage(2, "Some prescription vitamins are sold in shops."))

    assert text.splitlines()[1] == ("- Generic and brand-name prescriptions are covered "
                                    "with tiered co-payment structure. [1]")
    assert "3.3 Prescription Drugs" not in text  # a heading is no answer of its own


def test_a_value_is_close_to_the_questions_words_within_one_clause_only() -> None:
    from adapters.answer_signals import same_clause as _close
    from domain.questions import Wants

    held = frozenset({"standard", "appeal"})

    assert _close(Wants.TIME, "Standard appeals get our reply within 30 calendar days.", held)
    assert not _close(Wants.TIME, "A standard appeal is one you ask us for in writing; a "
                                  "fast one gets a reply within 72 hours.", held)
    assert not _close(Wants.TIME, "Within 72 hours we reply.", frozenset())


async def test_the_value_in_the_same_clause_as_the_questions_words_is_quoted_first() -> None:
    text = await answer(
        "How long do I have to wait for a standard appeal?",
        passage(1, "A standard appeal is one you ask us for in writing; a fast one gets a "
                   "reply within 72 hours.\nStandard appeals get our reply within 30 "
                   "calendar days, and you may ask us for your case file."))

    assert "within 30 calendar days" in text.splitlines()[1]


def test_a_row_continued_from_the_page_before_has_no_service_to_quote_under() -> None:
    row = ("\tYou can call Medicare at 1-800-MEDICARE (1-800-633-4227), 24 hours a day. " * 5)

    found = sentences(row.rstrip())

    assert found[0] == "You can call Medicare at 1-800-MEDICARE (1-800-633-4227), 24 hours a day."


HOSPITAL = """Inpatient hospital care
There is no limit to the number of medically necessary hospital days covered by the plan.
No prior hospital stay is required."""


async def test_passages_that_never_name_what_is_asked_about_are_not_an_answer() -> None:
    # Half the question's words ("hospital") are there; "parking" is nowhere.
    text = await answer("Does the plan pay for parking at the hospital?", passage(1, HOSPITAL))

    assert text == NOT_COVERED_MARKER


async def test_a_members_words_the_passages_say_in_the_booklets_words_are_spoken_of(
) -> None:
    # Neither "cap" nor "spend" is in the passage, but the glossary's booklet term for
    # "cap on what I spend" is: the question is answered, not refused.
    limit = passage(1, "The maximum out-of-pocket amount for covered services is $3,400 "
                       "each year.")

    text = await answer("Is there a cap on what I spend?", limit)

    assert "$3,400" in text
    assert text != NOT_COVERED_MARKER


def test_bridged_names_only_the_phrases_whose_booklet_term_is_said() -> None:
    from adapters import english
    from adapters.extractive_answerer import bridged

    question = "Is there a cap on what I spend?"
    said = english.lexemes("The maximum out-of-pocket amount is $3,400.")

    assert {"cap", "spend"} <= bridged(question, said)
    assert not bridged(question, english.lexemes("Hospital parking is free."))


async def test_one_word_either_side_of_or_is_enough_and_a_long_question_may_use_its_own(
) -> None:
    formats = passage(1, "You can get this document in braille, in large print, or other "
                         "alternate formats at no cost.")

    either = await answer("Can I get plan documents in audio or braille?", formats)
    own = await answer("Can my grandmother get plan documents in large print?",
                       passage(1, "You can get this document in large print at no cost."))

    assert "in braille, in large print" in either
    assert "in large print at no cost" in own  # "grandmother" is a word of her own


def test_the_words_either_side_of_or_are_alternatives() -> None:
    from adapters.extractive_answerer import alternatives, key_terms

    question = "Does the plan include a gym or fitness membership?"

    assert alternatives(question, key_terms(question)) == [
        frozenset({"gym", "fit"}), frozenset({"includ"}), frozenset({"membership"})]


async def test_words_that_say_who_asks_need_not_be_in_the_passages() -> None:
    text = await answer("What number do TTY users call?", passage(1, "TTY 711"))

    assert "TTY 711" in text


def test_what_the_member_does_is_not_what_the_question_is_about() -> None:
    from adapters.extractive_answerer import _doings

    assert _doings("Do I have to meet a deductible before the plan pays?") >= {"meet"}
    assert not _doings("Does the plan pay for parking at the hospital?")


def test_whose_time_limit_a_question_asks_about_and_a_sentence_gives() -> None:
    from adapters.answer_signals import duty_of, whose_time

    assert whose_time("What is the deadline to file an appeal?") == "member"
    assert whose_time("How long do I have to send the plan the bill?") == "member"
    assert whose_time("How long does the plan have to answer an appeal?") == "plan"
    assert whose_time("How quickly will I get an answer?") == "plan"
    assert whose_time("When is the Annual Enrollment Period?") is None
    assert duty_of("plan", "We must give you our answer within 30 days.") == 1
    assert duty_of("plan", "The review organization must answer within 7 days.") == -1
    assert duty_of("member", "You must make your appeal within 65 days.") == 1
    assert duty_of("member", "We must answer within 30 days.") == -1


async def test_the_time_limit_of_the_party_asked_about_is_quoted_first() -> None:
    appeals = passage(1, "For a standard appeal about medical care, the independent review "
                         "organization must give you an answer within 30 calendar days.\n"
                         "For a standard appeal, we must give you our answer within 14 "
                         "calendar days.\n"
                         "You must ask for a standard appeal within 65 calendar days.")

    plan = await answer("How long does the plan have to answer a standard appeal about "
                        "medical care?", appeals)
    member = await answer("How long do I have to ask for a standard appeal about medical "
                          "care?", appeals)

    assert "within 14 calendar days" in plan.splitlines()[1]
    assert "within 65 calendar days" in member.splitlines()[1]


# Two long chart rows: the first service's description names the question's words in
# passing; the second service is the one asked about.
SAUNA_CHART = (
    "Physical therapy Covered therapy includes stretching, strength work, balance "
    "training and, when your therapist orders it for stiff joints, a sauna visit after "
    "the exercise. Your therapist writes a plan of care and checks your progress every "
    "few weeks.\t$30 copayment per day for days 1-10. Prior approval is needed after the "
    "tenth day of therapy in a calendar year.\n"
    "Sauna visits Covered when your doctor orders heat treatment for a skin condition "
    "that has not improved with creams or ointments, at a clinic that works with the "
    "plan and keeps a record of each treatment for your doctor. A visit lasts up to "
    "twenty minutes and a nurse stays close by.\t$15 copayment. Your doctor must renew "
    "the order every six months, and the clinic sends the plan a short report.\n")


async def test_the_service_a_chart_value_stands_under_counts_more_than_its_rows_other_words(
) -> None:
    text = await answer("What do I pay for a sauna visit?", passage(1, SAUNA_CHART))

    assert text.splitlines()[1] == "- Sauna visits \u2014 $15 copayment. [1]"


async def test_a_how_many_question_is_answered_by_the_number_of_what_it_counts() -> None:
    text = await answer(
        "How many nights at a respite house are covered?",
        passage(1, "Respite house nights: $5 per night for nights 1-3.\n"
                   "The plan covers your stay at a respite house for up to 14 nights."))

    # "nights 1-3" numbers the nights; "14 nights" counts them
    assert text.splitlines()[1] == \
        "- The plan covers your stay at a respite house for up to 14 nights. [1]"


def test_what_a_how_many_question_counts_and_which_numbers_count_it() -> None:
    assert counted("How many visits to a chiropractor can I get?") == "visit"
    assert counted("How many days' supply can I get?") == "day"
    assert counted("How many one-way rides to the clinic do I get?") == "ride"
    assert counted("How many home-made meals are covered?") == "meal"
    assert counted("What does a visit cost?") is None
    assert counts("visit", "Up to 8 visits in 60 days.")
    assert counts("ride", "12 one-way rides per year")
    assert counts("day", "a 30-day supply")
    assert not counts("day", "$20 copayment per day for days 1-5.")
    assert not counts("day", "You pay 20% each day.")


async def test_a_value_named_by_the_questions_word_for_it_wins() -> None:
    text = await answer("When is the locker rent due?",
                        passage(1, "Locker rent went up on March 1.\nEach month, the rent for "
                                   "your locker at the club is due by the 5th."))

    assert text.splitlines()[1] == \
        "- Each month, the rent for your locker at the club is due by the 5th. [1]"


async def test_a_question_asking_with_a_pronoun_is_about_its_storys_thing() -> None:
    # "What should I do?" names nothing: the badge is in the story, among what happened
    text = await answer("I left my badge on a train. What should I do?",
                        passage(1, "Lockers are on the left of the entrance.\nIf your badge "
                                   "is lost, call the front desk and we will mail you a new "
                                   "one."))

    assert text.splitlines()[1:] == [
        "- If your badge is lost, call the front desk and we will mail you a new one. [1]"]


def test_the_pieces_a_contraction_leaves_are_not_what_a_question_is_about() -> None:
    from adapters.extractive_answerer import key_terms

    assert key_terms("I'd like a ride. We're late and I've no car; they'll wait?") == {
        "ride", "late", "car", "wait"}


async def test_a_how_do_i_question_prefers_the_step_told_to_the_member() -> None:
    text = await answer("How do I order a new badge?",
                        passage(1, "The front desk will send your new badge order to the "
                                   "printer.\nIf you want a new badge, simply ask at the "
                                   "front desk."))

    assert text.splitlines()[1] == \
        "- If you want a new badge, simply ask at the front desk. [1]"


def test_a_step_told_to_the_member_or_only_what_happens() -> None:
    from adapters.answer_signals import instructs

    assert instructs("Send us a written request.")
    assert instructs("To change your address, please call the front desk.")
    assert instructs("\u2022 Fill out the form on our website.")
    assert not instructs("The front desk will review your request.")


async def test_how_fast_asks_for_a_time_and_a_fast_thing_is_what_it_asks_about() -> None:
    text = await answer("How fast is a fast refund paid?",
                        passage(1, "A standard refund is paid within 30 days.\nA fast refund "
                                   "is paid within 3 days."))

    assert text.splitlines()[1] == "- A fast refund is paid within 3 days. [1]"


async def test_a_question_in_the_passage_is_what_it_is_about_never_the_answer() -> None:
    text = await answer("How do I get a new gym badge?",
                        passage(1, "How do you get a new gym badge?\nAsk the front desk; "
                                   "a new badge costs nothing."))

    assert "How do you get" not in text
    assert text.splitlines()[1] == "- Ask the front desk; a new badge costs nothing. [1]"


async def test_the_next_sentence_of_prose_earns_its_place_only_a_cells_next_tier_comes_along(
) -> None:
    answerer = ExtractiveAnswerer(max_sentences=2)
    lines = answerer.choose(
        "How fast is a fast refund paid?",
        [passage(1, "A fast refund is paid within 3 days.\nThe office closes for 2 weeks "
                    "in August.\nA fast refund by check is paid within 5 days.")])

    assert lines == ["A fast refund is paid within 3 days. [1]",
                     "A fast refund by check is paid within 5 days. [1]"]
    tiers = answerer.choose(
        "What do I pay per night at a respite house?",
        [passage(1, "Respite house Stays at a respite house give a carer a rest for a few "
                    "nights while a trained nurse looks after you, in a house that works "
                    "with the plan; ask your doctor for a referral first, and bring your "
                    "medicine list with you. The house has single rooms, a garden and a "
                    "kitchen where meals are cooked each day.\t$5 per night for nights 1-3. "
                    "$9 per night for nights 4-14.")])

    assert tiers == ["Respite house \u2014 $5 per night for nights 1-3. [1]",
                     "$9 per night for nights 4-14. [1]"]


async def test_a_short_sentence_going_on_with_the_value_comes_with_the_one_quoted() -> None:
    text = await answer("Is there a cap on what I pay for gym visits?",
                        passage(1, "There is a limit on what you pay for gym visits in a "
                                   "year.\nFor the year 2025 this amount is $300.\nGym visits "
                                   "need a badge from the front desk."))

    assert text.splitlines()[1:3] == [
        "- There is a limit on what you pay for gym visits in a year. [1]",
        "- For the year 2025 this amount is $300. [1]"]


async def test_a_question_pointing_back_at_its_story_is_answered_by_the_storys_things(
) -> None:
    # "there" is Norway: the clinic's price at home is not what was asked
    text = await answer("My sister hurt her knee skiing in Norway. What do we pay at the "
                        "clinic there?",
                        passage(1, "Clinic visits near home: $20 copayment per visit.\n"
                                   "Skiing injuries in Norway: $60 copayment per visit."))

    assert text.splitlines()[1] == "- Skiing injuries in Norway: $60 copayment per visit. [1]"


async def test_a_hyphenated_compounds_first_word_is_not_what_it_is_about() -> None:
    # "pet-friendly" speaks of friendliness, not of pets: pet insurance is not covered
    rooms = passage(1, "Members get insurance cards and pet-friendly waiting rooms.")

    assert await answer("Do you sell pet insurance?", rooms) == NOT_COVERED_MARKER
    # asked about what the compound is about, its first word counts too
    assert (await answer("Are the waiting rooms pet friendly?", rooms)).splitlines()[1] == \
        "- Members get insurance cards and pet-friendly waiting rooms. [1]"
    # a range of numbers is no compound: "days 8-30" counts from day 8
    stays = passage(1, "Stays: $5 a day for days 1-7.\nStays: $9 a day for days 8-30.")
    assert (await answer("What do I pay a day from day 8 of a stay?", stays)).splitlines()[1] \
        == "- Stays: $9 a day for days 8-30. [1]"


async def test_a_count_of_weeks_is_the_booklets_count_of_days() -> None:
    # "two weeks" is 14 days: the row from day 14 on
    text = await answer("What does a stay cost a day after two weeks?",
                        passage(1, "Stays: $5 a day for days 1-13.\nStays: $9 a day for "
                                   "days 14-30."))

    assert text.splitlines()[1] == "- Stays: $9 a day for days 14-30. [1]"


async def test_something_and_anything_name_nothing_a_passage_could_be_about() -> None:
    text = await answer("My piano is out of tune. Is that something the plan covers?",
                        passage(1, "If something is missing from your order, call the "
                                   "front desk."))

    assert text == NOT_COVERED_MARKER


async def test_a_weekend_is_asked_about_by_the_days_a_booklet_names() -> None:
    review = ("Quality review office - Contact Information\n"
              "CALL 1-800-555-0100 Monday through Friday, 9 a.m. to 5 p.m.; Saturday, Sunday, "
              "and holidays, 10 a.m. to 4 p.m.\n")
    rides = ("Rides must be booked at least 24 hours in advance (not including weekends), "
             "from 8 a.m. to 5 p.m.")
    text = await answer("I want to call the review office about my stay. Are they open on "
                        "weekends?", passage(1, rides), passage(2, review))

    assert "Saturday, Sunday, and holidays, 10 a.m. to 4 p.m." in text
    assert "Rides must be booked" not in text


async def test_who_tells_the_story_is_not_what_the_question_is_about() -> None:
    scans = ("Imaging services\tDiagnostic scans (such as MRI, CT and ultrasound) $0 "
             "copayment\n")
    visits = "Specialist visits\tA doctor visit for your knee or hip: $25 copayment\n"
    text = await answer("My doctor ordered an MRI of my knee. How much will I pay for it?",
                        passage(1, visits), passage(2, scans))

    assert "MRI, CT and ultrasound) $0 copayment" in text.splitlines()[1]


async def test_what_a_price_is_counted_by_is_not_what_it_is_the_price_of() -> None:
    rehab = ("Outpatient rehabilitation services\tPhysical therapy and speech therapy: $0 "
             "copayment for each office visit.\n")
    classes = "Caregiver classes\tGroup sessions for caregivers: $15 copayment per session.\n"
    text = await answer("I need physical therapy after a fall. What do I pay for each session?",
                        passage(1, classes), passage(2, rehab))

    assert "Physical therapy and speech therapy: $0 copayment" in text.splitlines()[1]


async def test_an_asking_sentence_that_names_only_telling_the_plan_asks_about_the_story(
) -> None:
    emergency = ("Getting care in a medical emergency\n"
                 "If you go to an emergency room that is out of network, you are covered.\n"
                 "You or someone else should call to tell us about your emergency care, "
                 "usually within 48 hours.")
    text = await answer("We used an emergency room that isn't in the network yesterday. How "
                        "soon do we have to let the plan know?",
                        passage(1, emergency))

    assert "usually within 48 hours. [1]" in text


def test_the_words_that_ask_for_a_date_or_a_lead_time_are_not_what_it_is_about() -> None:
    from adapters.extractive_answerer import key_terms

    assert key_terms("I want to switch medical groups. By what day of the month do I need to "
                     "ask?") == key_terms("I want to switch medical groups.")
    assert key_terms("How far ahead do I have to book a ride?") == key_terms("book a ride")
    assert key_terms("How far is the clinic?") >= {"far", "clinic"}


async def test_a_number_said_in_words_is_the_number_in_digits() -> None:
    options = "You have two options: pay by check, or have it taken from your bank account."
    hearing = ("Hearing aids\tHearing aids $550 copayment per aid for a standard model "
               "(2 hearing aids every 12 months).\n")
    text = await answer("I need hearing aids in both ears. Will the plan cover two?",
                        passage(1, options), passage(2, hearing))

    assert "(2 hearing aids every 12 months)" in text.splitlines()[1]


async def test_a_time_limit_said_of_the_decision_is_the_plans() -> None:
    complaints = ("If you have a fast complaint, it means we will give you an answer within "
                  "24 hours. Most complaints are answered within 30 calendar days.")
    text = await answer("How quickly does the plan answer most complaints?",
                        passage(1, complaints))

    assert text.splitlines()[1].startswith("- Most complaints are answered within 30 calendar")


async def test_where_to_mail_something_is_answered_by_an_address() -> None:
    paying = ("## Section 5.1 Paying your monthly premium by check\n"
              "Option 1: Paying by check. You will receive a premium statement in the mail "
              "each month. Please make your premium check payable to the plan, not to "
              "Medicare. Simply tear off the stub and send it with your payment to: Example "
              "Health Plan, P.O. Box 4321, Springfield, IL 62701-1234.")
    text = await answer("Where do I mail the check for my monthly premium?", passage(1, paying))

    assert "send it with your payment to: Example Health Plan, P.O. Box 4321" in text
    assert "payable to the plan" not in text  # a step, but not where to send it


async def test_what_happens_if_i_do_not_is_answered_by_the_sentence_on_that_condition(
) -> None:
    pcp = ("## Section 2.1 You must choose a primary care provider (PCP)\n"
           "Your PCP will give you most of your care. This includes:\n"
           "• Lab tests\n"
           "• Therapies\n"
           "We strongly recommend that you choose a PCP close to your home.\n"
           "Please note: If you do not select a PCP within 30 days of joining, we will assign "
           "you a PCP.")
    text = await answer("I just joined and haven't picked a regular doctor yet. What happens "
                        "if I don't choose one?", passage(1, pcp))

    assert text.splitlines()[2].startswith("- Please note: If you do not select a PCP")
    # A sentence opening a list says nothing alone, however many of the glossary's words
    # the heading above it lends it.
    assert "This includes:" not in text


async def test_going_and_coming_say_nothing_of_what_a_question_is_about() -> None:
    paying = ("Paying by bank draft\n"
              "If you decide to change how you pay your premium, it can take up to three "
              "months for your new payment method to take effect.")
    text = await answer("I want my premium taken from my bank account. How long until the "
                        "change goes through?", passage(1, paying))

    assert "it can take up to three months" in text


def test_the_words_asking_how_a_sum_is_worked_out_are_not_what_it_is_about() -> None:
    from adapters.extractive_answerer import key_terms

    assert key_terms("How is the late fee worked out?") == key_terms("the late fee")
    assert key_terms("How is the late fee calculated?") == key_terms("the late fee")


def test_still_yet_and_already_say_when_not_what_about() -> None:
    from adapters.extractive_answerer import key_terms

    assert key_terms("Do I still owe the copay for the visit?") == key_terms("the visit")
    assert key_terms("Has my refund come yet? Is it already sent?") == key_terms(
        "my refund is sent")


def test_what_the_member_will_not_get_is_a_verdict() -> None:
    assert says_yes_or_no("As a member, you usually will not acquire ownership of rented "
                          "equipment.")
    assert says_yes_or_no("You won't own the bed after 13 payments.")
    assert not says_yes_or_no("You will receive a statement each month.")


async def test_a_members_word_for_a_charts_service_counts_as_the_service() -> None:
    therapy = ("Outpatient mental health care Covered services include: Mental health "
               "services provided by a state-licensed psychiatrist or doctor, clinical "
               "psychologist, clinical social worker, clinical nurse specialist, nurse "
               "practitioner, physician assistant, or other qualified professional as allowed "
               "under applicable state laws.\tPsychiatrist visit $10 copayment for each therapy "
               "visit in a group or individual setting.\n")
    acupuncture = ("Acupuncture for chronic low back pain Covered services include: Up to 12 "
                   "visits in 90 days are covered under the following circumstances: chronic "
                   "low back pain is defined as lasting 12 weeks or longer and nonspecific, in "
                   "that it has no identifiable cause.\t$0 copayment for each office visit "
                   "when you see a licensed acupuncturist.\n")
    finding = "Member Services can help you find mental health providers near you."
    text = await answer("I want to see a counselor. What does each visit cost?",
                        passage(1, acupuncture), passage(2, therapy), passage(3, finding))

    assert "Psychiatrist visit $10 copayment" in text.splitlines()[1]


async def test_is_there_a_thing_is_answered_by_the_sentence_saying_whether_there_is() -> None:
    stages = ("## SECTION 4 Payment stages\n"
              "Generic and brand-name prescription drugs are covered in tiers.\n"
              "There is no deductible for Example Plan. You start in the Initial Coverage "
              "Stage when you fill your first prescription of the year.")
    text = await answer("Is there a deductible for prescription drugs?", passage(1, stages))

    assert "- There is no deductible for Example Plan. [1]" in text.splitlines()


async def test_help_is_what_the_member_asks_for_not_what_about() -> None:
    costs = ("Your out-of-pocket costs include payments for your drugs made by family or "
             "friends, and payments made by Extra Help from Medicare.")
    ending = "If a member dies, their membership in the plan ends."
    text = await answer("When I die, will the plan help my family with funeral costs?",
                        passage(1, costs), passage(2, ending))

    assert text == NOT_COVERED_MARKER
