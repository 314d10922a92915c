"""Working in-memory adapters of every port, for scenario tests and offline runs."""
