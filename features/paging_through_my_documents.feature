Feature: Paging through my documents
  A member's app shows their documents a page at a time, newest first. Documents
  uploaded while the member pages never make one show twice or go missing, and
  the member can ask for only the documents in one state, such as those still
  being processed.

  Scenario: New uploads while paging never shift the pages
    Given Maria uploaded 5 documents
    When Maria pages through her documents 2 at a time, uploading her dental plan after each page
    Then she saw each of her 5 documents exactly once

  Scenario: Only the documents still waiting
    Given Maria uploaded her summary of benefits
    And the worker has processed her documents
    And Maria uploaded her dental plan
    When Maria lists only her documents waiting to be processed
    Then she sees her dental plan only
