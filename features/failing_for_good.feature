Feature: Failing for good
  Some problems cannot be fixed by trying again: a damaged file stays damaged.
  Such a document fails at once, without retries, and keeps the reason so the
  member knows what to do.

  Background:
    Given a failed step is retried at most 3 times, waiting 1 second at first and twice as long each time

  Scenario: A damaged file fails at once and the reason is kept
    Given Maria uploaded a damaged claim form
    When the worker looks for work
    Then the document has failed while parsing
    And the reason given mentions "damaged"
    And it was parsed only once
    When an hour passes and the worker looks for work
    Then the document has failed while parsing
    And it was parsed only once

  Scenario: Text the embedding service refuses fails at once while embedding
    Given Maria uploaded her summary of benefits
    And the embedding service refuses the text as unacceptable
    When the worker looks for work
    Then the document has failed while embedding
    And the reason given mentions "unacceptable"
    And the embedding service was asked only once
