Feature: Processing documents again
  When the service changes the model that turns passages into vectors, documents
  embedded by the older model cannot be compared with a question any more. Search
  never drops them silently: it says which documents wait to be embedded again,
  and an operator (or the member, one document at a time) has them processed
  again from the pages already read.

  Scenario: Documents of an older model are reported, then processed again
    Given Maria uploaded her summary of benefits
    And the worker has processed her documents
    And the service has since changed its embedding model
    When Maria asks "What is the deductible?"
    Then no passages are found
    And the search says her summary of benefits waits to be embedded again
    When the operator has every document of an older model processed again
    And the worker looks for work
    And Maria asks "What is the deductible?"
    Then the best passage comes from her summary of benefits
    And the search left none of her documents out
    And the document was not read again

  Scenario: A member has one document processed again
    Given Maria uploaded her summary of benefits
    And the worker has processed her documents
    When Maria has her summary of benefits processed again
    And Maria asks "What is the deductible?"
    Then the search says her summary of benefits is still being processed
    When the worker looks for work
    And Maria asks "What is the deductible?"
    Then the best passage comes from her summary of benefits

  Scenario: A document still being processed cannot be processed again
    Given Maria uploaded her summary of benefits
    When Maria has her summary of benefits processed again
    Then she is told to wait until it is complete
