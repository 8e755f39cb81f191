"""Fixtures for end-to-end tests of the `layerscope` command."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from layerscope.cli import cli
from tests.support.schemas import validate_document


@dataclass(frozen=True)
class Run:
    """What one CLI invocation produced."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout parsed; a layerscope document is validated against its shipped JSON Schema."""
        doc = json.loads(self.stdout)
        validate_document(doc)
        return doc


@pytest.fixture(autouse=True)
def isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own measurement store and user catalog, and no Docker credentials from the host."""
    store = tmp_path / "store" / "measurements.sqlite3"
    monkeypatch.setenv("LAYERSCOPE_STORE", str(store))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))  # the user catalog lives there
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # scan checkpoints live there
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    yield store


@pytest.fixture
def layerscope() -> Callable[..., Run]:
    """Run the CLI in-process: `layerscope("analyze", ref, "-o", "json")`."""

    def run(*args: str, env: dict[str, str] | None = None) -> Run:
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    return run
