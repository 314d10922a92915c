"""Scenarios of features/two_workers_never_hold_the_same_document.feature."""

from pytest_bdd import scenarios

scenarios("two_workers_never_hold_the_same_document.feature")
