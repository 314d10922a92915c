Feature: Asking about costs, phone numbers, limits and deadlines
  Most questions a member asks want one kind of fact: an amount, a phone number or
  opening hours, a count or limit, a time or deadline, a yes or a no, or the steps
  to take. The offline answer quotes the sentence or benefit-chart row that holds
  that kind of fact and the question's words together, and cites it. It never
  answers a question about money with a sentence that names no amount, and it says
  so when her documents do not hold the fact at all.

  Background:
    Given Maria uploaded her evidence of coverage
    And the worker has processed her documents

  Scenario Outline: Each kind of question gets the fact it asks for
    When Maria asks for an answer to "<question>"
    Then the answer says "<fact>"
    And every citation points at a passage of Maria's evidence of coverage
    And the answer says it was extracted from her documents, not generated

    Examples: an amount
      | question                                            | fact                                  |
      | How much do I pay for an ambulance trip?            | $180 copayment for each one-way trip  |
      | What is the copayment for an emergency room visit?  | $90 copayment for each visit          |

    Examples: a phone number, or when to call
      | question                                            | fact                                  |
      | What number do TTY users call?                      | TTY 711                               |
      | What hours is Member Services open?                 | 8 a.m. to 8 p.m., 7 days a week       |

    Examples: a count or a limit
      | question                                            | fact                                  |
      | How many one-way rides do I get per year?           | 24 one-way rides per year             |
      | My neighbour drives me to my doctor. How many one-way rides will the plan pay for each year? | 24 one-way rides per year |

    Examples: a time or a deadline
      | question                                            | fact                                  |
      | How long do I have to submit a claim?               | within 12 months                      |
      | Is there a deadline to send in a claim?             | within 12 months                      |
      | When is my claim due?                               | within 12 months                      |

    Examples: yes or no
      | question                                            | fact                                  |
      | Do I have to meet a deductible before the plan pays? | There is no deductible for this plan |
      | Is cosmetic dentistry covered?                      | Cosmetic dentistry is not covered     |

    Examples: how to do something
      | question                                            | fact                                  |
      | How do I ask the plan to pay me back for a bill?    | send us the bill and your receipts    |

  Scenario: A question about money is never answered without an amount
    When Maria asks for an answer to "How much does the fitness membership cost?"
    Then she is told her documents don't cover it
    And the answer cites nothing

  Scenario: The answer quotes the fact, not a sentence that only shares its words
    When Maria asks for an answer to "What is the copayment for an emergency room visit?"
    Then the answer does not say "Call 911 for help"
    When Maria asks for an answer to "What hours is Member Services open?"
    Then the answer does not say "balance billed"

  Scenario: A row of the booklet's tables is quoted with what it is for
    A row of the booklet's charts is read as a row: what she pays is quoted after the
    service it is for, and a number under the title of the contact table it is in.
    Given passages are cut to the size the service uses
    And Maria uploaded her Evidence of Coverage
    And the worker has processed her documents
    When Maria asks for an answer to "What is the fax number for medical care appeals?"
    Then the answer says "Appeals For Medical Care – Contact Information"
    And the answer says "FAX 1-562-989-0958"

  Scenario: A question her documents do not answer
    When Maria asks for an answer to "Does the plan pay for my dog's visits to the vet?"
    Then she is told her documents don't cover it

  Scenario: A question about something her documents never name
    Her booklet speaks of hospitals, never of parking: a sentence about the hospital
    is no answer to a question about parking there.
    When Maria asks for an answer to "Does the plan pay for parking at the hospital?"
    Then she is told her documents don't cover it
    And the answer cites nothing

  Scenario: Two copies of the same booklet, each fact quoted once
    Given Maria also uploaded a copy of her evidence of coverage saved as "eoc-copy.md"
    And the worker has processed her documents
    When Maria asks for an answer to "How much do I pay for an ambulance trip?"
    Then the answer says "$180 copayment for each one-way trip" once
    And the answer says which copy it quotes, "evidence-of-coverage.md" or "eoc-copy.md", and that the other says the same
