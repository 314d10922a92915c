"""Scenarios of features/a_document_moves_through_the_pipeline.feature."""

from pytest_bdd import scenarios

scenarios("a_document_moves_through_the_pipeline.feature")
