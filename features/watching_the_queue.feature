Feature: Watching the queue
  An operator watches the whole queue, whichever worker did the work: how long the
  document waiting the longest has waited for a worker, and how many documents
  failed or had to be tried again at each step lately. The alerts that wake
  someone up are set on these figures.

  Background:
    Given a failed step is retried at most 3 times, waiting 1 second at first and twice as long each time
    And the operator counts failures and retries over the last 15 minutes

  Scenario: A passing failure and a failure for good count against the step they hit
    Given Maria uploaded her 2025 policy PDF
    And Omar uploaded a damaged claim form
    And the parser is unavailable the first time
    When the worker looks for work
    And 1 second passes and the worker looks for work
    Then the operator sees 1 document complete and 1 failed
    And the operator sees 1 failure and 1 retry while parsing
    And the operator sees no failure or retry at any other step

  Scenario: A document nobody picks up shows how long it has waited
    Given Maria uploaded her 2025 policy PDF
    When 90 seconds pass with no worker looking for work
    Then the operator sees that a document has waited 90 seconds for a worker
    When the worker looks for work
    Then the operator sees no document waiting for a worker

  Scenario: A document waiting out its retry delay is not late
    Given Maria uploaded her 2025 policy PDF
    And the parser is unavailable the first time
    When the worker looks for work
    Then the operator sees no document waiting for a worker
    And the operator sees no failure and 1 retry while parsing

  Scenario: Failures older than the window are no longer counted
    Given Omar uploaded a damaged claim form
    When the worker looks for work
    Then the operator sees 1 failure and no retry while parsing
    When 15 minutes pass with no worker looking for work
    Then the operator sees no failure or retry at any step
    And the operator sees 0 documents complete and 1 failed
