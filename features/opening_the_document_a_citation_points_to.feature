Feature: Opening the document a citation points to
  An answer cites a page of a member's document; the member's app opens that
  document, exactly as it was uploaded, or the part of it a viewer asks for first.
  Nobody else can open it.

  Background:
    Given Maria uploaded her 2025 policy PDF

  Scenario: A member opens her own file exactly as she uploaded it
    When Maria opens the file of her 2025 policy PDF
    Then she gets exactly the bytes she uploaded

  Scenario: A viewer asks for the first part of a file
    When Maria opens the first 1000 bytes of her 2025 policy PDF
    Then she gets exactly those bytes of it

  Scenario: Nobody else can open it
    When Omar opens the file of Maria's 2025 policy PDF
    Then he is told there is no such document
