"""Scenarios of features/members_only_see_their_own.feature."""

from pytest_bdd import scenarios

scenarios("members_only_see_their_own.feature")
