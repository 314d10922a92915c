"""Scenarios of features/giving_up_and_retrying_by_hand.feature."""

from pytest_bdd import scenarios

scenarios("giving_up_and_retrying_by_hand.feature")
