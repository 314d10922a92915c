"""Scenarios of features/a_worker_dies_mid_step.feature."""

from pytest_bdd import scenarios

scenarios("a_worker_dies_mid_step.feature")
