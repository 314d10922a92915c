Feature: Retrying after a passing failure
  When a service we depend on is briefly unavailable, the document waits a little
  and is tried again. The wait doubles each time, so a struggling service is not
  overwhelmed, and the member can see why the document is late.

  Background:
    Given a failed step is retried at most 3 times, waiting 1 second at first and twice as long each time

  Scenario: The parser is unavailable the first time, then the document completes
    Given Maria uploaded her 2025 policy PDF
    And the parser is unavailable the first time
    When the worker looks for work
    Then the document waits 1 second before its next attempt
    And the job shows 1 failed attempt with the error "the parser is unavailable"
    When half a second passes and the worker looks for work
    Then the document is still waiting to be processed
    When another half second passes and the worker looks for work
    Then the document is ready to search
    And the job still shows 1 failed attempt
    And its history keeps the error "the parser is unavailable"

  Scenario: The embedding service is busy twice, then the document completes
    Given Maria uploaded her summary of benefits
    And the embedding service is busy the first 2 times
    When the worker looks for work
    Then the document waits 1 second before its next attempt
    When 1 second passes and the worker looks for work
    Then the document waits 2 seconds before its next attempt
    When 2 seconds pass and the worker looks for work
    Then the document is ready to search
    And it was parsed only once
