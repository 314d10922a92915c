"""Scenarios of features/searching_ones_own_documents.feature."""

from pytest_bdd import scenarios

scenarios("searching_ones_own_documents.feature")
