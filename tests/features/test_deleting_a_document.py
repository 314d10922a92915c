"""Scenarios of features/deleting_a_document.feature."""

from pytest_bdd import scenarios

scenarios("deleting_a_document.feature")
