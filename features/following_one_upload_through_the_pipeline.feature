Feature: Following one upload through the pipeline
  When a member says an upload is slow or has failed, an operator finds the request
  that uploaded it and every step the workers took for it in one trace, whichever
  worker ran each step and however much later.

  Background:
    Given the service records traces
    And a failed step is retried at most 3 times, waiting 1 second at first and twice as long each time

  Scenario: An upload and each of its steps are one trace
    Given Maria uploaded her 2025 policy PDF
    When the worker looks for work
    Then the document is ready to search
    And the trace of her upload shows these steps, in order: parse, validate, chunk, queue, embed, finalize
    And every step in it follows from her upload

  Scenario: A step tried again shows in the same trace, the failed tries marked
    Given Maria uploaded her summary of benefits
    And the embedding service is busy the first 2 times
    When the worker looks for work
    And 1 second passes and the worker looks for work
    And 2 seconds pass and the worker looks for work
    Then the document is ready to search
    And the trace of her upload shows these steps, in order: parse, validate, chunk, queue, embed, embed, embed, finalize
    And the first 2 embed steps in it are marked as failed
    And every step in it follows from her upload
