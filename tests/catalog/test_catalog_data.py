"""The shipped catalog data: format, provenance, reproducibility, extracted sizes."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import statistics
from importlib import resources
from pathlib import Path

import pytest

from layerscope.catalog import CHANNEL_BUILDS, load_shipped
from layerscope.catalog.model import BUILD_CHANNELS
from layerscope.measurement import SizeSource
from layerscope.oci import MediaType
from tests.catalog.catalog_helpers import SC2019_RTM_2018, SC2019_RTM_2022, desc, fake_digest

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"


def data_rows(name: str) -> list[dict[str, str]]:
    text = (resources.files("layerscope.catalog") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_every_digest_is_a_full_sha256() -> None:
    cat = load_shipped()
    for layer in cat.layers:
        for value in (layer.digest, layer.diff_id):
            assert value is None or DIGEST.match(value), layer
    for pin in cat.pins:
        assert DIGEST.match(pin.index_digest), pin
    for cfg in cat.configs:
        assert DIGEST.match(cfg.digest)


def test_sizes_are_positive_whole_numbers() -> None:
    for layer in load_shipped().layers:
        for n in (layer.compressed_bytes, layer.extracted_bytes):
            assert n is None or (type(n) is int and n > 0), layer


def test_every_row_has_a_source_and_provenance() -> None:
    cat = load_shipped()
    for layer in cat.layers:
        assert layer.source.strip(), layer
        assert layer.provenance_verified in ("yes", "low")
        if layer.diff_id:
            assert layer.diff_id_source
        if layer.extracted_bytes is not None:
            assert layer.extracted_source
    assert all(p.source.startswith("docker-library/official-images@") for p in cat.pins)
    assert all(p.os_version_source for p in cat.pins if p.os_version)
    assert all(s.source.strip() for s in cat.sizes)
    assert all(src.strip() for _, src in cat.os_versions.values())


def test_no_digest_has_two_meanings() -> None:
    rows = data_rows("base-layers.csv")
    meaning: dict[str, tuple[str, str, str]] = {}
    for r in rows:
        m = (r["family"], r["channel"], r["layer_role"])
        assert meaning.setdefault(r["digest"], m) == m, r["digest"]
    assert len(meaning) == len(rows), "a digest is listed twice"
    layer_digests = set(meaning)
    index_digests = {r["index_digest"] for r in data_rows("mcr-index-history.csv")}
    config_digests = {r["digest"] for r in data_rows("base-configs.csv")}
    diff_ids = {r["diff_id"] for r in data_rows("base-diffids.csv")}
    assert not layer_digests & index_digests
    assert not layer_digests & config_digests
    assert not diff_ids & (index_digests | config_digests)
    # An index digest belongs to one repository/tag.
    owner: dict[str, tuple[str, str]] = {}
    for r in data_rows("mcr-index-history.csv"):
        key = (r["repository"], r["tag"])
        assert owner.setdefault(r["index_digest"], key) == key


def test_channels_builds_and_months_are_consistent() -> None:
    cat = load_shipped()
    assert set(CHANNEL_BUILDS) == {"ltsc2016", "ltsc2019", "ltsc2022", "ltsc2025"}
    assert BUILD_CHANNELS[17763] == "ltsc2019"
    for layer in cat.layers:
        if layer.build is not None:
            assert BUILD_CHANNELS[layer.build] == layer.channel
        if layer.month is not None:
            assert MONTH.match(layer.month)
        if layer.os_version and layer.channel:
            assert int(layer.os_version.split(".")[2]) == CHANNEL_BUILDS[layer.channel]
    for version, (month, _) in cat.os_versions.items():
        assert MONTH.match(month), version


def test_counts_match_the_reference_readme() -> None:
    cat = load_shipped()
    assert len(data_rows("base-layers.csv")) == 111
    assert len(cat.pins) == 216
    assert len(cat.sizes) == 66
    assert len([r for r in cat.layers if r.diff_id]) == 4  # "Only four base diff_ids are known"
    assert len(cat.layers) == 112  # 111 blobs + one layer known only by its diff_id


def test_sizes_are_kept_exactly_as_given() -> None:
    cat = load_shipped()
    fig = next(s for s in cat.sizes if s.tag_or_version.startswith("ltsc2019 (IMAGE ID 617dd5ead5b8"))
    assert (fig.bytes_or_text, fig.unit_as_given, fig.bytes) == ("5.74GB", "GB", 5_740_000_000)
    implied = [s for s in cat.sizes if s.unit_as_given == "GB (implied; unit not restated)"]
    assert len(implied) == 4 and all(s.bytes is None for s in implied)


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"reference data not present at {REFERENCE}")
def test_shipped_data_is_reproducible_from_the_reference() -> None:
    from scripts import build_catalog

    files = build_catalog.build(REFERENCE)
    files["provenance.json"] = build_catalog.provenance(REFERENCE, files)
    data = resources.files("layerscope.catalog") / "data"
    for name, text in files.items():
        assert (data / name).read_text(encoding="utf-8") == text, f"{name} is stale: run scripts/build_catalog.py"
    assert (REFERENCE / "windows-base-sizes.csv").read_text("utf-8") == (data / "base-sizes.csv").read_text("utf-8")


def test_estimate_ratio_is_the_median_of_its_pairs() -> None:
    doc = json.loads((resources.files("layerscope.catalog") / "data" / "extracted-estimate.json").read_text("utf-8"))
    pairs = {p["what"]: p for p in doc["pairs"]}
    for group in doc["groups"]:
        used = [pairs[w] for w in group["pairs"]]
        assert all(p["extracted_source"] and p["compressed_source"] for p in used)
        ratios = [p["extracted_bytes"] / p["compressed_bytes"] for p in used]
        assert group["ratio"] == pytest.approx(statistics.median(ratios), abs=1e-3)
    by_group = {g["group"]: g["ratio"] for g in doc["groups"]}
    assert 2.1 < by_group["servercore"] < 2.3
    assert 2.4 < by_group["nanoserver"] < 2.6


def test_extracted_bytes_exact_where_known_else_estimated() -> None:
    cat = load_shipped()
    rtm = cat.by_digest(SC2019_RTM_2018[0])
    assert rtm is not None
    assert cat.extracted_bytes(rtm) == (3_470_000_000, SizeSource.CATALOG_APPROX)  # "3.47 GB": rounded
    later = cat.by_digest(SC2019_RTM_2022[0])
    assert later is not None
    est = cat.estimate_for("servercore", "ltsc2019")
    assert est is not None
    assert cat.extracted_bytes(later) == (round(SC2019_RTM_2022[1] * est.ratio), SizeSource.ESTIMATED)
    no_size = cat.by_digest("sha256:de5064718b3f2749727c8b5ffddf2da7698189277afe0df6fc0a57ad573bca0f")
    assert no_size is not None and no_size.compressed_bytes is None
    assert cat.extracted_bytes(no_size) == (None, SizeSource.UNKNOWN)


def test_measurement_of_a_catalog_layer() -> None:
    cat = load_shipped()
    rtm = cat.by_digest(SC2019_RTM_2018[0])
    assert rtm is not None
    m = cat.measurement(rtm)
    assert (m.digest, m.compressed_bytes, m.size_source) == (*SC2019_RTM_2018, SizeSource.CATALOG_APPROX)
    assert m.uncompressed_bytes is None and m.files is None  # not in the reference data: unknown, not zero
    copy = desc(fake_digest("recompressed"), 1_600_000_000, MediaType.OCI_LAYER_GZIP)
    m2 = cat.measurement(rtm, copy)
    assert (m2.digest, m2.compressed_bytes, m2.extracted_bytes) == (copy.digest, copy.size, 3_470_000_000)


def test_lookups_revisions_and_months() -> None:
    cat = load_shipped()
    assert load_shipped() is cat  # read once
    by_diff = cat.by_diff_id("sha256:63fe917cb06464508a932ff216cdc088a3ebbb16756c56ec026b92a932028134")
    assert by_diff is not None and by_diff.digest is None and by_diff.family == "nanoserver"
    assert cat.month_of("10.0.17763.2928") == "2022-05"
    assert cat.month_of("10.0.20348.1487") == "2023-01"
    assert cat.month_of("10.0.17763.1") is None
    revs = {r.month: r for r in cat.revisions("servercore", "ltsc2019")}
    may = revs["2022-05"]
    assert may.os_version == "10.0.17763.2928"
    assert {layer.role for layer in may.layers} == {"base", "update"}
    jan = revs["2023-01"]
    assert jan.os_version == "10.0.17763.3887" and jan.pins[0].os_version == "10.0.17763.3887"
    assert [p.tag for p in cat.pins_for("servercore", "ltsc2019")][:1] == ["1809"]


def test_only_a_byte_count_is_an_exact_catalog_figure() -> None:
    """Both shipped extracted figures are rounded GB values: `catalog-approx`; `catalog` only for bytes (#12)."""
    cat = load_shipped()
    figures = [layer for layer in cat.layers if layer.extracted_bytes is not None]
    assert len(figures) == 2 and {layer.extracted_precision for layer in figures} == {"rounded"}
    rtm = figures[0]
    assert cat.extracted_bytes(rtm)[1] is SizeSource.CATALOG_APPROX
    assert cat.extracted_bytes(dataclasses.replace(rtm, extracted_precision="exact"))[1] is SizeSource.CATALOG
    assert cat.extracted_bytes(dataclasses.replace(rtm, extracted_precision=None))[1] is SizeSource.CATALOG_APPROX
    assert not cat.measurement(rtm).exact  # counted as an estimate in totals
