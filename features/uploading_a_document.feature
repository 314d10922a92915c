Feature: Uploading a document
  A member uploads an insurance document so that they can ask questions about it
  later. What we cannot process is refused at once, with a reason the member can
  act on; a file we already have is not processed twice.

  Background:
    Given files of up to 64 KB are accepted
    And a member may keep up to 3 documents

  Scenario: A new document is accepted and waits to be processed
    When Maria uploads her 2025 policy PDF
    Then her upload is accepted as a new document
    And the document is waiting to be processed

  Scenario: Uploading the same file again gives back the same document
    Given Maria uploaded her 2025 policy PDF
    When Maria uploads her 2025 policy PDF again under another name
    Then she gets the same document back
    And she has 1 document
    When the worker looks for work
    Then the document is ready to search
    And it was parsed only once

  Scenario: A file that is too large is refused
    When Maria uploads a 100 KB scan of her claims "claims-2024.txt"
    Then her upload is refused because the file is too large
    And she has no documents

  Scenario: A type of file we do not accept is refused
    When Maria uploads a photo of her insurance card "card.png"
    Then her upload is refused because we do not accept that type of file
    And she has no documents

  Scenario: An empty file is refused
    When Maria uploads an empty file "notes.txt"
    Then her upload is refused because the file is empty
    And she has no documents

  Scenario: A file is judged by what it contains, not by its name
    When Maria uploads her 2025 policy PDF under the name "policy.txt"
    Then her upload is accepted as a new document
    And the document is recorded as a PDF

  Scenario: A file named like a Word document that is not one is refused
    When Maria uploads a text file named like a Word document
    Then her upload is refused because it is not really a Word document
    And she has no documents

  Scenario: A member who has reached the limit of documents is refused
    Given Maria uploaded her summary of benefits
    And Maria uploaded her dental plan
    And Maria uploaded her 2025 policy PDF
    When Maria uploads her explanation of benefits
    Then her upload is refused because she has reached her limit
    And she has 3 documents

  Scenario: Two members uploading the same file each get their own copy
    Given Maria uploaded her 2025 policy PDF
    When Omar uploads the same 2025 policy PDF
    Then his upload is accepted as a new document
    And Maria and Omar each have 1 document
    When the worker looks for work
    Then both documents are ready to search
