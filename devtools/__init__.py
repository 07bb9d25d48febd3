"""Tools shared by the tests and the benchmark harness (not shipped)."""
