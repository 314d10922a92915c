Feature: Two workers never hold the same document at the same time
  Several workers share the documents waiting to be processed. A document is
  held by one worker at a time, so no work is done twice.

  Background:
    Given Maria uploaded 6 documents

  Scenario: Two workers looking for work at the same moment share the documents out
    When two workers look for work at the same moment
    Then each document is held by exactly one of them

  Scenario: Two workers processing side by side complete every document exactly once
    When two workers process documents side by side until there is nothing left
    Then all 6 documents are ready to search
    And each document was parsed only once

  Scenario: A document already held is not handed to another worker
    When one worker takes every document
    And another worker looks for work
    Then the other worker gets nothing
