Feature: A document moves through the pipeline
  Once uploaded, a document is parsed, checked, cut into passages and embedded,
  and then it can be searched. Each status it passes through is recorded, so a
  member or an operator can see where it is and where it has been.

  Scenario: A document passes every status in order and its history shows each one
    Given Maria uploaded her 2025 policy PDF
    When the worker looks for work
    Then the document is ready to search
    And its history shows these statuses, in order:
      | status                |
      | uploaded              |
      | parsing               |
      | parsed                |
      | parse_validated       |
      | chunking              |
      | chunks_stored         |
      | embedding_queued      |
      | embedding_in_progress |
      | embeddings_stored     |
      | complete              |
    And every step after the upload was done by the worker

  Scenario: The overview counts documents by status
    Given Maria uploaded her 2025 policy PDF
    And Omar uploaded his dental plan
    And Omar uploaded a damaged claim form
    When the worker looks for work
    Then the overview counts 2 complete and 1 failed
