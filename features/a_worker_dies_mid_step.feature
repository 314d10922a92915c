Feature: A worker dies in the middle of a step
  A worker can die at any moment: the machine restarts, the process is killed.
  Each worker holds a document for a limited time unless it renews its hold.
  When that time runs out the document is taken back and another worker finishes
  it, and the document is still processed exactly once.

  Background:
    Given a worker holds a document for 60 seconds unless it renews its hold
    And a failed step is retried at most 3 times, waiting 1 second at first and twice as long each time

  Scenario Outline: Another worker finishes the document after the first one dies while <activity> it
    Given Maria uploaded her summary of benefits
    When a worker dies while <activity> it
    And 60 seconds pass and another worker looks for work
    Then the document waits 1 second before its next attempt
    And its history shows that the first worker's hold ran out
    When 1 second passes and another worker looks for work
    Then the document is ready to search
    And every step was completed exactly once
    And it has exactly the passages of a document processed without trouble

    Examples:
      | activity  |
      | parsing   |
      | embedding |

  Scenario: A worker that died cannot write once another worker has taken over
    Given Maria uploaded her summary of benefits
    And a worker died while parsing it and another worker finished it
    When the worker that died comes back and finishes its work
    Then its work is refused
    And the document's passages and history are unchanged

  Scenario: A worker that stalls and wakes up late writes nothing
    Given Maria uploaded her summary of benefits
    And a worker stalled while parsing it
    When 60 seconds pass and another worker looks for work
    And 1 second passes and another worker looks for work
    And the stalled worker wakes up
    Then the stalled worker's work is refused
    And every step was completed exactly once
    And it has exactly the passages of a document processed without trouble

  Scenario: A file that stops every worker that touches it fails in the end
    Given Maria uploaded her summary of benefits
    When 4 workers in turn die while parsing it
    Then the document has failed while parsing
    And the reason given mentions "gave up after 4 attempts"
