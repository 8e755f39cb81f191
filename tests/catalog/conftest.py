"""CLI fixtures for the catalog tests (`catalog refresh` runs the command): isolated store and user catalog."""

from tests.integration.conftest import isolated_store, layerscope  # noqa: F401  (fixtures used by test_refresh.py)
