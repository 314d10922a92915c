"""Scenarios of features/retrying_after_a_passing_failure.feature."""

from pytest_bdd import scenarios

scenarios("retrying_after_a_passing_failure.feature")
