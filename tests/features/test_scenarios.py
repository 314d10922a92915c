"""Every scenario of every ``.feature`` file in ``features/``, collected here.

The folder is read when the tests are collected, so a new feature file runs with
no file of its own; the steps and the world are in ``conftest.py`` and ``steps/``.
"""

from pytest_bdd import scenarios

# Relative to pytest's ``bdd_features_base_dir``, the repository's ``features/``.
scenarios(".")
