Feature: Deleting a document
  A member can delete a document at any time. It disappears from their list and
  their search results at once, along with everything made from it.

  Background:
    Given Maria uploaded her summary of benefits
    And the worker has processed her documents

  Scenario: A deleted document no longer appears in search
    When Maria asks "What is the deductible for a specialist visit?"
    Then the best passage comes from her summary of benefits
    When Maria deletes her summary of benefits
    And Maria asks "What is the deductible for a specialist visit?"
    Then no passages are found
    And she has no documents
    And nothing made from the document is kept

  Scenario: Deleting a document while a worker is processing it
    Given Maria uploaded her 2025 policy PDF
    And a worker stalled while parsing it
    When Maria deletes her 2025 policy PDF
    And the stalled worker wakes up
    Then the stalled worker's work is refused
    And nothing made from the document is kept

  Scenario: Deleting one member's copy leaves another member's copy alone
    Given Omar uploaded the same summary of benefits
    And the worker has processed their documents
    When Maria deletes her summary of benefits
    And Omar asks "What is the deductible for a specialist visit?"
    Then the best passage comes from Omar's summary of benefits
