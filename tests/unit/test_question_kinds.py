"""What kind of answer a question wants, and which sentences hold one."""

from __future__ import annotations

import pytest

from domain.questions import Wants, asking, holds_value, needs_value, points_back, wants


@pytest.mark.parametrize(("question", "kind"), [
    ("How much do I pay for an ambulance trip?", Wants.AMOUNT),
    ("What is the copayment for an emergency room visit?", Wants.AMOUNT),
    ("What is the maximum out-of-pocket amount for 2025?", Wants.AMOUNT),
    ("What is the phone number for Member Services?", Wants.PHONE),
    ("What number do TTY users call?", Wants.PHONE),
    ("How do I call Medicare?", Wants.PHONE),
    ("What hours is Member Services open?", Wants.HOURS),
    ("How many one-way rides do I get per year?", Wants.COUNT),
    ("How often are screening mammograms covered?", Wants.COUNT),
    ("How long do I have to submit a claim?", Wants.TIME),
    ("When is the Annual Enrollment Period?", Wants.TIME),
    ("Do I have to meet a deductible before the plan pays?", Wants.YES_NO),
    ("Will the plan pay for a walker at home?", Wants.YES_NO),
    ("Is cosmetic dentistry covered?", Wants.YES_NO),
    ("How do I file a grievance?", Wants.PROCEDURE),
    ("How do I ask the plan to pay me back for a bill?", Wants.PROCEDURE),
    ("Where do I send a written appeal?", Wants.PROCEDURE),
    ("What is a benefit period?", Wants.ANY),
])
def test_each_question_asks_for_its_kind_of_answer(question: str, kind: Wants) -> None:
    assert wants(question) is kind


def test_a_question_told_as_a_story_is_read_by_what_it_asks() -> None:
    story = ("My husband broke his arm on vacation in Mexico; what do we pay at the hospital "
             "there?")

    assert wants(story) is Wants.AMOUNT
    assert asking("I called on a Saturday. When are they open?") == "When are they open?"
    assert asking("no question mark here") == "no question mark here"


@pytest.mark.parametrize(("question", "kind"), [
    ("How long do I have to ask to be paid back for a bill?", Wants.TIME),
    ("How soon must I pay the penalty?", Wants.TIME),
    ("How much does a filling cost?", Wants.AMOUNT),
    ("How much time do I have to send the form?", Wants.TIME),
    ("How often will the plan pay for new glasses?", Wants.COUNT),
    ("When is the locker fee due?", Wants.TIME),
    ("I moved last week. When do I send the new address?", Wants.TIME),
    ("What do I pay when I see a nurse?", Wants.AMOUNT),
    ("When I see a nurse, what do I pay?", Wants.AMOUNT),
])
def test_what_a_question_opens_with_says_what_it_asks_before_its_topic(
        question: str, kind: Wants) -> None:
    assert wants(question) is kind


def test_is_there_a_deadline_asks_for_the_deadline_not_yes_or_no() -> None:
    assert wants("The clerk was rude. Is there a deadline to complain?") is Wants.TIME
    assert wants("Is there a time limit for sending a bill?") is Wants.TIME
    assert wants("Is there a fee for a new card?") is Wants.YES_NO


def test_reaching_someone_asks_for_hours_and_reaching_a_stage_for_a_time() -> None:
    assert wants("When can I reach the nurse line?") is Wants.HOURS
    assert wants("When do I reach you?") is Wants.HOURS
    assert wants("When do I reach the second payment stage?") is Wants.TIME
    assert wants("When do I reach the maximum for my plan?") is not Wants.HOURS


def test_an_abbreviation_inside_a_question_does_not_end_it() -> None:
    assert asking("Is a ride back to the U.S. from abroad covered?") == \
        "Is a ride back to the U.S. from abroad covered?"
    assert wants("Is a ride back to the U.S. from abroad covered?") is Wants.YES_NO
    assert asking("We leave at 9 a.m. tomorrow. Is the trip covered?") == \
        "Is the trip covered?"


def test_a_question_typed_in_lower_case_is_still_told_from_its_story() -> None:
    story = "i need a new phone number for my mom. how much is a hearing aid?"
    assert asking(story) == "how much is a hearing aid?"
    assert wants(story) is Wants.AMOUNT
    assert asking("we leave at 9 a.m. tomorrow. is the trip covered?") == \
        "is the trip covered?"
    assert points_back("i left my badge on a train! what do i do with it?")


@pytest.mark.parametrize(("kind", "holding", "not_holding"), [
    (Wants.AMOUNT, "$180 copayment for each one-way trip.", "Call 911 for help."),
    (Wants.AMOUNT, "There is no deductible for this plan.", "The deductible applies."),
    (Wants.AMOUNT, "You pay 20% coinsurance.", "Emergency room services are covered."),
    (Wants.PHONE, "CALL 1-800-559-3500", "Call Member Services."),
    (Wants.PHONE, "TTY users call 711.", "Use the TTY line."),
    (Wants.HOURS, "Hours are 8 a.m. to 8 p.m., 7 days a week.", "We answer quickly."),
    (Wants.COUNT, "24 one-way rides per year", "Rides are covered."),
    (Wants.TIME, "within 12 months of the date of service", "You may ask us at any time."),
    (Wants.TIME, "from October 15 to December 7", "You may ask us."),
    (Wants.TIME, "Return the form within a 30-day window.", "Return the form soon."),
    (Wants.TIME, "within 45- days of joining", "within days 1-3 of the stay"),
])
def test_a_sentence_holds_a_value_of_the_kind_or_not(kind: Wants, holding: str,
                                                     not_holding: str) -> None:
    assert holds_value(kind, holding)
    assert not holds_value(kind, not_holding)


def test_amounts_phone_numbers_hours_counts_and_times_must_be_held_in_the_answer() -> None:
    assert {k for k in Wants if needs_value(k)} == {
        Wants.AMOUNT, Wants.PHONE, Wants.HOURS, Wants.COUNT, Wants.TIME}
    assert holds_value(Wants.ANY, "anything at all")


def test_an_asking_sentence_ending_on_it_them_or_there_points_back_at_its_story() -> None:
    assert points_back("We hiked in Peru. What do we pay at the hospital there?")
    assert points_back("My dentist suggests a retainer. Will the plan pay for it?")
    assert not points_back("Will the plan pay for it?")  # no story to point back at
    assert not points_back("We hiked in Peru. Is there a deadline to claim?")
    assert not points_back("We hiked in Peru. What do we pay at the hospital?")


@pytest.mark.parametrize(("question", "kind"), [
    ("My sister needs help with her rent. Is there a number she can call?", Wants.PHONE),
    ("Is there a phone line for questions about my bill?", Wants.PHONE),
    ("I want to call the review office about my father. Are they open on Sundays?",
     Wants.HOURS),
    ("Is the pharmacy help desk open at night?", Wants.HOURS),
    ("Is there a fee for a new card?", Wants.YES_NO),
    ("Are they covered on weekends?", Wants.YES_NO),
])
def test_a_yes_no_question_that_asks_for_a_number_or_for_hours_wants_them(
        question: str, kind: Wants) -> None:
    assert wants(question) is kind


@pytest.mark.parametrize(("question", "kind"), [
    ("How far ahead must I book the van?", Wants.TIME),
    ("How far in advance do I ask for a wheelchair van?", Wants.TIME),
    ("What is the longest stay in a rehab center the plan covers?", Wants.COUNT),
    ("What is the farthest the shuttle will drive me?", Wants.COUNT),
    ("What is the maximum out-of-pocket amount for 2025?", Wants.AMOUNT),
])
def test_how_far_ahead_asks_for_a_time_and_an_extreme_for_a_limit(
        question: str, kind: Wants) -> None:
    assert wants(question) is kind


def test_a_day_of_the_month_is_a_time() -> None:
    assert holds_value(Wants.TIME, "Your request must be received on or before the 20th of "
                                   "the month.")
    assert holds_value(Wants.TIME, "The premium is due on the 1st.")
    assert not holds_value(Wants.TIME, "Ask your medical group for a new doctor.")


def test_how_a_sum_is_worked_out_asks_for_an_amount_and_a_condition_is_no_price() -> None:
    assert wants("I was late joining. How is the late fee worked out?") is Wants.AMOUNT
    assert wants("How are my drug costs calculated?") is Wants.AMOUNT
    assert holds_value(Wants.AMOUNT, "You do not pay anything for this visit.")
    assert not holds_value(Wants.AMOUNT, "If you do not pay your late fee, you could lose "
                                         "your drug coverage.")


@pytest.mark.parametrize(("question", "kind"), [
    ("My pharmacist offered me a flu shot. Will it cost me anything?", Wants.AMOUNT),
    ("I was admitted from the ER. Do I still owe the ER copay?", Wants.AMOUNT),
    ("Does it cost extra to see a specialist?", Wants.AMOUNT),
    ("Does the plan cover a flu shot?", Wants.YES_NO),
    ("Is there a fee for a new card?", Wants.YES_NO),
])
def test_a_yes_no_question_about_what_i_pay_asks_for_the_amount(question: str,
                                                                 kind: Wants) -> None:
    assert wants(question) is kind


def test_a_waived_copayment_is_an_amount() -> None:
    assert holds_value(Wants.AMOUNT, "The copayment is waived if you are admitted.")
    assert not holds_value(Wants.AMOUNT, "The form is mailed if you ask for it.")
