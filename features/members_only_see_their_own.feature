Feature: Members only see their own documents
  A member's documents are private. Another member cannot find them, look at
  their processing, search them, retry them or delete them, and is not even told
  that they exist.

  Background:
    Given Maria uploaded her summary of benefits
    And Omar uploaded his dental plan
    And the worker has processed their documents

  Scenario: A member's list of documents shows only their own
    Then Maria's documents are her summary of benefits only
    And Omar's documents are his dental plan only

  Scenario: A member's search never returns another member's passages
    When Omar asks "What is the deductible for a specialist visit?" with a similarity threshold of 0.0
    Then every passage comes from Omar's own documents

  Scenario: A member cannot look at another member's document or its processing
    When Omar looks at Maria's document
    Then he is told there is no such document
    When Omar looks at the processing of Maria's document
    Then he is told there is no such document

  Scenario: A member cannot retry or delete another member's document
    When Omar tries to retry Maria's document
    Then he is told there is no such document
    When Omar tries to delete Maria's document
    Then he is told there is no such document
    And Maria's summary of benefits is still ready to search
