"""Fixtures for the Windows build/AMI tests: the in-process CLI runner with an isolated store and catalog."""

from tests.integration.conftest import isolated_store, layerscope  # noqa: F401  (fixtures for the CLI tests)
