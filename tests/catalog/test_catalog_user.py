"""The user catalog: save, merge with the shipped catalog, conflicts, default path."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from layerscope.catalog import BaseLayer, IndexPin, default_user_path, load, load_shipped, save_user_entries
from layerscope.errors import CatalogError
from tests.catalog.catalog_helpers import SC2019_RTM_2022, fake_digest


def new_layer(seed: str = "new", **changes: object) -> BaseLayer:
    layer = BaseLayer(
        family="servercore",
        channel="ltsc2022",
        build=20348,
        role="update",
        digest=fake_digest(seed),
        compressed_bytes=700_000_000,
        media_kind="rootfs.diff",
        history_label="Install update 10.0.20348.9999",
        os_version="10.0.20348.9999",
        month="2027-01",
        registry_copy="mcr",
        provenance_verified="yes",
        source="layerscope catalog refresh (test)",
    )
    return dataclasses.replace(layer, **changes)  # type: ignore[arg-type]


def test_save_and_load_extends_the_shipped_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    pin = IndexPin("mcr.microsoft.com/windows/servercore", "ltsc2022", fake_digest("idx"), "2027-01-14", "refresh")
    assert save_user_entries([new_layer()], [pin], path) == path
    cat = load(path)
    assert cat.by_digest(fake_digest("new")) == new_layer()
    assert pin in cat.pins
    assert len(cat.layers) == len(load_shipped().layers) + 1
    assert load(path, include_user=False) is load_shipped()


def test_user_entry_fills_blanks_of_a_shipped_row(tmp_path: Path) -> None:
    shipped = load_shipped().by_digest(SC2019_RTM_2022[0])
    assert shipped is not None and shipped.diff_id is None
    extra = dataclasses.replace(shipped, diff_id=fake_digest("diff"), source="refresh", month="2099-01")
    path = save_user_entries([extra], path=tmp_path / "c.json")
    merged = load(path).by_digest(SC2019_RTM_2022[0])
    assert merged is not None
    assert merged.diff_id == fake_digest("diff")
    assert merged.month == shipped.month  # shipped values win
    assert load(path).by_diff_id(fake_digest("diff")) == merged


def test_conflicting_user_entry_is_refused(tmp_path: Path) -> None:
    shipped = load_shipped().by_digest(SC2019_RTM_2022[0])
    assert shipped is not None
    wrong = dataclasses.replace(shipped, family="nanoserver")
    with pytest.raises(CatalogError, match="already has it as servercore"):
        save_user_entries([wrong], path=tmp_path / "c.json")
    path = tmp_path / "hand-edited.json"
    path.write_text(json.dumps({"schema": "layerscope.catalog/v1", "layers": [dataclasses.asdict(wrong)]}))
    with pytest.raises(CatalogError) as err:
        load(path)
    assert err.value.hint and "catalog refresh" in err.value.hint


def test_newer_entries_replace_older_user_entries(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    save_user_entries([new_layer(compressed_bytes=1)], path=path)
    save_user_entries([new_layer(compressed_bytes=2), new_layer("other")], path=path)
    cat = load(path)
    entry = cat.by_digest(fake_digest("new"))
    assert entry is not None and entry.compressed_bytes == 2
    assert cat.by_digest(fake_digest("other")) is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema": "other"}', "is not a layerscope.catalog/v1"),
        ('{"schema": "layerscope.catalog/v1", "layers": [{"family": "servercore"}]}', "must be a string"),
        ('{"schema": "layerscope.catalog/v1", "layers": [{"bogus": 1}]}', "unknown keys"),
    ],
)
def test_broken_user_file_is_a_catalog_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(CatalogError, match=message):
        load(path)


def test_invalid_entry_is_not_written(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="month"):
        save_user_entries([new_layer(month="2027-13")], path=tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists()


def test_default_path_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_user_path() == tmp_path / "layerscope" / "catalog.json"
    assert load() is load_shipped()  # no user file yet
    save_user_entries([new_layer()])
    assert load().by_digest(fake_digest("new")) is not None
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # XDG: relative values are ignored
    assert default_user_path() == Path.home() / ".local" / "share" / "layerscope" / "catalog.json"


def test_missing_explicit_user_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load(tmp_path / "absent.json")
