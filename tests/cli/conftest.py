"""CLI fixtures for the command tests here: the in-process runner with an isolated store and user catalog."""

from tests.integration.conftest import isolated_store, layerscope  # noqa: F401  (fixtures for tests/cli)
