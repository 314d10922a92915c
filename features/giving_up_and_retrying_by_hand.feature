Feature: Giving up, then retrying by hand
  A document that keeps failing is not retried for ever: after the maximum number
  of retries it fails and keeps the last error. Once the cause is fixed, the
  member can retry it by hand, and it picks up where it stopped.

  Background:
    Given a failed step is retried at most 3 times, waiting 1 second at first and twice as long each time

  Scenario: After 3 retries the document fails, and a retry by hand succeeds
    Given Maria uploaded her 2025 policy PDF
    And the parser is unavailable until further notice
    When the worker looks for work
    Then the document waits 1 second before its next attempt
    When 1 second passes and the worker looks for work
    Then the document waits 2 seconds before its next attempt
    When 2 seconds pass and the worker looks for work
    Then the document waits 4 seconds before its next attempt
    When 4 seconds pass and the worker looks for work
    Then the document has failed while parsing
    And the reason given is "gave up after 4 attempts; last error: the parser is unavailable"
    And it was parsed 4 times
    When the parser is back
    And Maria retries her document
    Then the document is waiting to be processed
    And the job shows no failed attempts
    When the worker looks for work
    Then the document is ready to search
    And its history keeps the error "gave up after 4 attempts; last error: the parser is unavailable"

  Scenario: A retry by hand resumes at the step that failed
    Given Maria uploaded her summary of benefits
    And the embedding service is busy the first 4 times
    When the worker looks for work
    And 1 second passes and the worker looks for work
    And 2 seconds pass and the worker looks for work
    And 4 seconds pass and the worker looks for work
    Then the document has failed while embedding
    When Maria retries her document
    And the worker looks for work
    Then the document is ready to search
    And it was parsed only once

  Scenario: A document that has not failed cannot be retried
    Given Maria uploaded her 2025 policy PDF
    When the worker looks for work
    And Maria retries her document
    Then her retry is refused because the document has not failed
    And the document is ready to search
