"""Scenarios of features/asking_a_question_about_my_coverage.feature."""

from pytest_bdd import scenarios

scenarios("asking_a_question_about_my_coverage.feature")
