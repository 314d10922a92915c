Feature: Reading a benefits chart
  An Evidence of Coverage lists what the plan covers in a chart: each row names a
  service, describes it, and says what the member pays for it, often over several
  lines on each side. A passage that holds a service holds its cost too: a row
  of the chart is never cut in two, and its service and cost read on one line.

  Background:
    Given passages are cut to the size the service uses
    And Maria uploaded her Evidence of Coverage
    And the worker has processed her documents

  Scenario: The ambulance row keeps its copayment
    Then one of her passages shows "Ambulance services" with "$180 copayment for each one-way trip" on one line

  Scenario: A contact table's row keeps its label with its number
    Then one of her passages shows "TTY" with "711 Calls to this number are free" on one line

  Scenario: Every row of the medical benefits chart is whole in one of her passages
    Then every row of her Evidence of Coverage's benefits chart is whole in one passage
