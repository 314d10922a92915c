Feature: A member asks in their own words
  Members rarely ask in their documents' words. They ask about "the most I could
  ever spend", not the "out-of-pocket maximum"; about the "ER", not the "emergency
  room"; about their "specs", not "eyeglasses or contact lenses". Search knows how
  members say insurance things and also finds the passages that say them the
  documents' way, marking the documents' words it matched.

  Background:
    Given Maria uploaded her summary of benefits
    And Maria uploaded her dental plan
    And the worker has processed her documents

  Scenario: The most I could ever spend is the out-of-pocket maximum
    When Maria asks "What's the most I could ever spend in a year?" with a similarity threshold of 0.99
    Then the best passage mentions "the out-of-pocket maximum of $6,000"
    And the part of it that matched shows "pocket maximum" marked

  Scenario: The ER is the emergency room
    When Maria asks "How much is the ER?" with a similarity threshold of 0.99
    Then the best passage mentions "Emergency room care costs a $250 copay per visit"
    And the part of it that matched shows "Emergency room" marked

  Scenario: Specs are glasses and contact lenses
    When Maria asks "Can I get new specs?" with a similarity threshold of 0.99
    Then the best passage mentions "Glasses or contact"
    And the part of it that matched shows "Glasses contact lenses" marked

  Scenario: A word the documents do not use, and no member says for them, finds nothing
    When Maria asks "Are xylophone lessons reimbursed?" with a similarity threshold of 0.99
    Then no passages are found
