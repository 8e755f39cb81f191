"""Paths of the checkout the tests run from."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The checked-in OCI image layout written by `scripts/make_fixtures.py` (`make fixtures`).
FIXTURE_LAYOUT = ROOT / "fixtures" / "layout"
