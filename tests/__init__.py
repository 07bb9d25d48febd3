"""Hotline test suite."""

import pytest

# Helper modules shared by tests get pytest's assertion messages too; this
# must run before they are first imported.
pytest.register_assert_rewrite("tests.socket_clients", "tests.process_helpers")
