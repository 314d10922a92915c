"""Scenarios of features/uploading_a_document.feature."""

from pytest_bdd import scenarios

scenarios("uploading_a_document.feature")
