Feature: Following a document as it is processed
  A member's app shows each document's progress as it happens, without asking
  again and again. Every change of status reaches the app within a second, taken
  from what the service recorded, so it does not matter which server the app is
  connected to. The app is told the whole story once the document is complete.

  Scenario: Each change reaches the member's app within a second
    Given Maria uploaded her summary of benefits
    And Maria's app follows its processing
    Then the app shows it waiting to be processed
    When a worker starts reading it
    Then within a second the app shows it being read
    When the worker finishes it
    Then within a second the app shows it complete
    And the app is told nothing more

  Scenario: Nobody else can follow it
    Given Maria uploaded her summary of benefits
    When Omar's app tries to follow Maria's document
    Then he is told there is no such document
