"""`layerscope catalog list|show`: real shipped catalog data, the user catalog's contribution, unknown names."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layerscope.catalog import default_user_path, load_shipped, save_user_entries
from tests.catalog.catalog_helpers import SC2019_RTM_2018, SC2019_RTM_2022, SC2019_UPD_2022_05, fake_digest
from tests.integration.conftest import Run

# servercore ltsc2019, May 2022 (base-layers.csv lines 51-52).
RTM, RTM_BYTES = SC2019_RTM_2022
UPD, UPD_BYTES = SC2019_UPD_2022_05
# The Nov 2018 RTM layer has an exact extracted figure (base-extracted.csv): 3.47 GB.
RTM_2018, _ = SC2019_RTM_2018
# A shipped index pin with a stated build (mcr-index-history.csv, PR #18884).
PIN_2025_04 = "sha256:ea7b7af45052c49ca9157bd5ae9418f26babce9144450ac0830e20c7fbdd5583"


def _base(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(b for b in doc["bases"] if b["name"] == name)
    return found


def test_list_table_shows_revisions_with_layers(layerscope: Callable[..., Run]) -> None:
    run = layerscope("catalog", "list")
    assert run.exit_code == 0, run.stderr
    out = run.stdout
    assert out.startswith(f"{len(load_shipped().layers)} base layers, {len(load_shipped().pins)} index pins")
    assert "no user catalog" in out
    assert "servercore:ltsc2019  mcr.microsoft.com/windows/servercore" in out
    line = next(x for x in out.splitlines() if RTM[7:19] in x)
    assert line.split()[:4] == ["2022-05", "10.0.17763.2928", "base", RTM[7:19]]
    assert "1.88 GB" in line and "digest" in line and "yes" in line and "shipped" in line
    assert "known only by index pins" in out
    for name in ("servercore:ltsc2016", "servercore:ltsc2022", "nanoserver:ltsc2019", "nanoserver:ltsc2025"):
        assert name in out


def test_list_json_has_every_base_and_revision(layerscope: Callable[..., Run]) -> None:
    run = layerscope("catalog", "list", "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["schema"] == "layerscope.catalog.list/v1" and doc["user_catalog"] is None
    assert doc["layers"] == len(load_shipped().layers)
    assert sum(b["layers"] for b in doc["bases"]) == doc["layers"]
    base = _base(doc, "servercore:ltsc2019")
    (may,) = [r for r in base["revisions"] if r["month"] == "2022-05"]
    assert may["os_version"] == "10.0.17763.2928"
    assert may["compressed_bytes"] == RTM_BYTES + UPD_BYTES
    assert [(x["role"], x["digest"], x["compressed_bytes"]) for x in may["layers"]] == [
        ("base", RTM, RTM_BYTES),
        ("update", UPD, UPD_BYTES),
    ]
    assert may["layers"][0]["evidence"] == ["digest"] and may["layers"][0]["origin"] == "shipped"
    # Months known only from MCR pins are there too (pins carry tag, digest, date).
    assert any(r["layers"] == [] and r["pins"] for r in base["revisions"])
    ltsc2022 = _base(doc, "servercore:ltsc2022")
    rows = [x for r in ltsc2022["revisions"] for x in r["layers"]]
    assert any(x["evidence"] == ["digest", "diff_id"] for x in rows)  # 8f616e6e… has a diff_id


def test_show_base_prints_full_digests_sizes_labels_and_sources(layerscope: Callable[..., Run]) -> None:
    run = layerscope("catalog", "show", "servercore:ltsc2019")
    assert run.exit_code == 0, run.stderr
    out = run.stdout
    assert (
        "servercore ltsc2019  mcr.microsoft.com/windows/servercore  revision 2022-05  os.version 10.0.17763.2928" in out
    )
    assert f"base    {RTM}" in out and f"update  {UPD}" in out
    assert f"compressed  1.88 GB ({RTM_BYTES:,} B)" in out
    assert "Apply image 10.0.17763.2803" in out and "Install update 10.0.17763.2928" in out
    assert "https://github.com/microsoft/Windows-Containers/issues/226" in out
    assert "estimated: ratio 2.2059 x compressed bytes" in out
    assert "extracted   3.47 GB (3,470,000,000 B), catalog-approx:" in out  # the 2018 RTM layer, rounded
    assert "pin     1809 -> sha256:" in out


def test_show_build_json(layerscope: Callable[..., Run]) -> None:
    run = layerscope("catalog", "show", "10.0.17763.2928", "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["schema"] == "layerscope.catalog.show/v1" and doc["kind"] == "build"
    (rev,) = doc["revisions"]
    assert (rev["family"], rev["channel"], rev["month"]) == ("servercore", "ltsc2019", "2022-05")
    rtm, upd = rev["layers"]
    assert (rtm["digest"], rtm["compressed_bytes"], rtm["history_label"]) == (
        RTM,
        RTM_BYTES,
        "Apply image 10.0.17763.2803",
    )
    assert rtm["extracted_source"] == "estimated" and rtm["extracted_bytes"] == round(RTM_BYTES * 2.2059)
    assert upd["extracted_bytes"] == round(UPD_BYTES * 2.2059)
    assert rtm["source"].startswith("public image metadata file") and rtm["provenance_verified"] == "yes"


def test_show_by_digest_prefix_full_digest_and_pin(layerscope: Callable[..., Run]) -> None:
    by_prefix = layerscope("catalog", "show", RTM[7:15], "-o", "json").json()
    assert by_prefix["kind"] == "digest"
    assert by_prefix["matched"] == [{"what": "layer digest", "digest": RTM}]
    assert [r["month"] for r in by_prefix["revisions"]] == ["2022-05"]

    exact = layerscope("catalog", "show", RTM_2018, "-o", "json").json()
    (layer,) = [x for r in exact["revisions"] for x in r["layers"] if x["digest"] == RTM_2018]
    assert (layer["extracted_bytes"], layer["extracted_source"]) == (3_470_000_000, "catalog-approx")

    pin = layerscope("catalog", "show", PIN_2025_04)
    assert pin.exit_code == 0, pin.stderr
    assert "index pin mcr.microsoft.com/windows/servercore:1809 (2025-04-17)" in pin.stdout
    assert "os.version 10.0.17763.7249" in pin.stdout


def test_unknown_name_is_exit_4_with_the_names(layerscope: Callable[..., Run]) -> None:
    for name in ("servercore:ltsc2030", "windows:ltsc2019", "10.0.99999.1", "deadbeef0"):
        run = layerscope("catalog", "show", name)
        assert run.exit_code == 4, (name, run.stderr)
        assert "nothing named" in run.stderr
        assert "servercore:ltsc2019" in run.stderr and "nanoserver:ltsc2022" in run.stderr


def test_user_catalog_entries_are_listed_with_their_origin(layerscope: Callable[..., Run], tmp_path: Path) -> None:
    assert default_user_path() == tmp_path / "xdg-data" / "layerscope" / "catalog.json"  # isolated per test
    shipped = load_shipped().by_digest(RTM)
    assert shipped is not None
    filled = dataclasses.replace(shipped, diff_id=fake_digest("rtm-diff"), source="refresh (test)")
    new = dataclasses.replace(
        shipped,
        role="update",
        digest=fake_digest("new-update"),
        compressed_bytes=700_000_000,
        history_label="Install update 10.0.17763.9000",
        os_version="10.0.17763.9000",
        month="2099-01",
        source="refresh (test)",
    )
    save_user_entries([filled, new])
    doc = layerscope("catalog", "list", "-o", "json").json()
    assert doc["user_catalog"] == str(default_user_path())
    rows = {x["digest"]: x for r in _base(doc, "servercore:ltsc2019")["revisions"] for x in r["layers"]}
    assert rows[RTM]["origin"] == "shipped+user" and rows[RTM]["evidence"] == ["digest", "diff_id"]
    assert rows[fake_digest("new-update")]["origin"] == "user"
    table = layerscope("catalog", "list").stdout
    assert "2099-01" in table and "user catalog" in table
    show = layerscope("catalog", "show", "10.0.17763.9000")
    assert show.exit_code == 0 and "refresh (test)" in show.stdout


def test_explicit_catalog_file_that_is_not_json_is_an_error(layerscope: Callable[..., Run], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    run = layerscope("catalog", "list", "--catalog", str(bad))
    assert run.exit_code == 1
    assert "not valid JSON" in run.stderr and "catalog refresh" in run.stderr
