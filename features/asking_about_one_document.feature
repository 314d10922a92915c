Feature: Asking about one document
  A member can ask about some of their documents only, for example the plan they
  are reading, instead of everything they keep. A document that is not theirs is
  refused by name, so they know which one to fix.

  Background:
    Given Maria uploaded her summary of benefits
    And Maria uploaded her dental plan
    And the worker has processed her documents

  Scenario: A question about one document only finds passages of that document
    When Maria asks "What is the deductible for dental cleanings?" about her summary of benefits only
    Then every passage comes from her summary of benefits

  Scenario: A document that is not hers is named in the refusal
    Given Omar uploaded his explanation of benefits
    When Maria asks "What is the deductible?" about Omar's explanation of benefits
    Then she is told she has no such document, and which one
