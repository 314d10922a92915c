"""Scenarios of features/failing_for_good.feature."""

from pytest_bdd import scenarios

scenarios("failing_for_good.feature")
