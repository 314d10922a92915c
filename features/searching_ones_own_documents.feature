Feature: Searching one's own documents
  A member asks a question in plain words and gets back the passages of their
  documents that answer it best: passages that hold the question's words, and
  passages close to it in meaning. Each passage shows the part that matched.
  They can ask for closer matches only, for fewer passages, or for passages that
  fit a budget of tokens.

  Background:
    Given Maria uploaded her summary of benefits
    And Maria uploaded her dental plan
    And the worker has processed her documents

  Scenario: A question that shares words with a passage finds it
    When Maria asks "What is the deductible for dental cleanings?"
    Then the best passage comes from her dental plan
    And the best passage mentions "cleanings"
    And the passages come best match first

  Scenario: A very high similarity threshold keeps only passages holding the question's words
    When Maria asks "What is the deductible for dental cleanings?" with a similarity threshold of 0.99
    Then at least 1 passage is found
    And every passage holds a word of the question
    When Maria asks "Are xylophone lessons reimbursed?" with a similarity threshold of 0.99
    Then no passages are found

  Scenario: A member finds the phone number to call
    Given Maria uploaded her 2025 policy PDF
    When the worker looks for work
    And Maria asks "What is the phone number for Accessa Support?"
    Then the best passage comes from her 2025 policy PDF
    And the best passage gives the number "1-800-555-1234"
    And the part of it that matched shows "Accessa Support" marked

  Scenario: No more passages than asked for
    When Maria asks "What does the plan cover?" with a similarity threshold of 0.05
    Then more than 2 passages are found
    When Maria asks "What does the plan cover?" with a similarity threshold of 0.05 for at most 2 passages
    Then at most 2 passages are found

  Scenario: The passages fit the token budget
    When Maria asks "What does the plan cover?" with a similarity threshold of 0.05 within a budget of 120 tokens
    Then at least 1 passage is found
    And the passages use no more than 120 tokens
    And the answer reports exactly the tokens the passages use

  Scenario: A document still being processed is not searched yet
    Given Maria uploaded her 2025 policy PDF
    When Maria asks "Who is eligible for the Accessa Health Insurance Plan?"
    Then none of the passages come from her 2025 policy PDF
    When the worker looks for work
    And Maria asks "Who is eligible for the Accessa Health Insurance Plan?"
    Then the best passage comes from her 2025 policy PDF
