Feature: Seeing what I use
  A member can see how much of their allowance they use: the documents and the
  space they keep against the upload limits, and the questions asked in the
  current window against the answer limit.

  Scenario: A member sees their documents and space against the limits
    Given a member may keep up to 5 documents
    And Maria uploaded her summary of benefits
    And Maria uploaded her dental plan
    And Omar uploaded his explanation of benefits
    When Maria looks at what she uses
    Then she uses 2 of her 5 documents
    And she uses the space of her summary of benefits and her dental plan
    And she has asked none of her 30 questions
