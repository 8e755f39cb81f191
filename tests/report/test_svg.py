"""report/svg.py: the charts' structure, scale, minimum segments, escaping and ticks, read back as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from layerscope.report import svg

SERIES = [svg.Series("cached", "#4c9a6a"), svg.Series("base", "#e08a2c"), svg.Series("app", "#3b6fb6")]


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # the charts are well-formed XML on their own


def _segments(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter("rect") if "seg" in r.get("class", "").split()]


def test_stacked_bars_structure_and_scale() -> None:
    rows = [svg.Row("web", (600.0, 300.0, 100.0)), svg.Row("api", (0.0, 0.0, 500.0))]
    root = _parse(svg.stacked_bars(rows, SERIES, chart_id="c1", title="Sizes", fmt=lambda x: f"{x:g} B"))
    assert root.tag == "svg" and root.get("id") == "c1" and root.get("class") == "chart"
    assert root.find("title").text == "Sizes"  # type: ignore[union-attr]
    bars = [g for g in root.iter("g") if g.get("class") == "bar"]
    assert [g.get("data-label") for g in bars] == ["web", "api"]
    segs = _segments(root)
    assert [s.get("data-value") for s in segs] == ["600", "300", "100", "500"]  # zero segments are not drawn
    widths = [float(s.get("width", "0")) for s in segs]
    # Ticks reach 1000 (max 1000): the 600-byte segment takes 60 % of the plot width.
    plot = svg.WIDTH - svg.LABEL_WIDTH - svg.VALUE_WIDTH
    assert widths[0] == pytest.approx(plot * 0.6, abs=0.1)
    assert widths[1] == pytest.approx(widths[0] / 2, abs=0.1)
    # Segments of a bar follow each other.
    x = [float(s.get("x", "0")) for s in segs[:3]]
    assert x[1] == pytest.approx(x[0] + widths[0], abs=0.1) and x[2] == pytest.approx(x[1] + widths[1], abs=0.1)
    # Each segment has a tooltip with the exact value; the total is written after the bar.
    assert segs[0].find("title").text == "web: cached 600 B"  # type: ignore[union-attr]
    totals = [t.text for t in root.iter("text") if t.get("class") == "value"]
    assert totals == ["1000 B", "500 B"]
    legend = [t.text for t in root.iter("text") if t.get("class") == "legend"]
    assert legend == ["cached", "base", "app"]


def test_tiny_segments_stay_visible() -> None:
    rows = [svg.Row("big base", (2_000_000_000.0, 0.0, 100_000.0))]
    segs = _segments(_parse(svg.stacked_bars(rows, SERIES, chart_id="c", title="t", fmt=str)))
    assert float(segs[1].get("width", "0")) == svg.MIN_SEGMENT


def test_grouped_bars() -> None:
    series = [svg.Series("with", "#0a0"), svg.Series("without", "#a00")]
    rows = [svg.Row("web", (5.0, 400.0)), svg.Row("linux", (0.0, 0.0))]
    root = _parse(svg.grouped_bars(rows, series, chart_id="g", title="Launch", fmt=lambda s: f"{s:g}s"))
    segs = _segments(root)
    assert len(segs) == 4  # zero values get a zero-width bar and still a label
    assert [float(s.get("width", "0")) for s in segs[2:]] == [0.0, 0.0]
    assert float(segs[1].get("width", "0")) > float(segs[0].get("width", "0"))
    assert [t.text for t in root.iter("text") if "small" in (t.get("class") or "")] == ["5s", "400s", "0s", "0s"]


def test_everything_is_escaped() -> None:
    evil = '<script>alert("x")</script> & "quotes"'
    text = svg.stacked_bars(
        [svg.Row(evil, (1.0, 1.0, 1.0))],
        [svg.Series(evil, '"red'), SERIES[1], SERIES[2]],
        chart_id='id"><script>',
        title=evil,
        fmt=lambda _: evil,
    )
    assert "<script>" not in text and 'id"><' not in text
    root = _parse(text)  # still well-formed
    assert root.find("title").text == evil  # type: ignore[union-attr]


def test_long_labels_are_shortened_with_the_full_text_in_a_tooltip() -> None:
    label = "registry.example.com/team/" + "x" * 80 + ":1.0"
    root = _parse(svg.stacked_bars([svg.Row(label, (1.0, 0.0, 0.0))], SERIES, chart_id="c", title="t", fmt=str))
    text = next(t for t in root.iter("text") if t.get("class") == "label")
    assert text.find("title").text == label  # type: ignore[union-attr]
    shown = "".join(text.itertext()).removeprefix(label)
    # Cut in the middle (issue #17): the registry and repository start and the tag end both stay.
    assert shown.startswith("registry.example.com/") and shown.endswith(":1.0") and "…" in shown
    assert len(shown) < len(label)


def test_shorten_middle_and_histogram_and_sparkline() -> None:
    assert svg.shorten_middle("short") == "short"
    cut = svg.shorten_middle("a" * 30 + "b" * 30, 21)
    assert len(cut) == 21 and cut.startswith("a" * 10) and cut.endswith("b" * 10)
    root = _parse(svg.histogram([0.0, 1.0, 1.5, 10.0], chart_id="h", title="t", color="#000", fmt=str, bins=10))
    counts = [int(r.get("data-count", "0")) for r in root.iter("rect") if r.get("class") == "hbin"]
    assert counts == [1, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    assert svg.sparkline([1.0], label="x") == ""
    spark = _parse(svg.sparkline([1.0, 3.0, 2.0], label="trend"))
    assert len(next(spark.iter("polyline")).get("points", "").split()) == 3


def test_deterministic_and_empty() -> None:
    rows = [svg.Row("a", (1.5, 2.25, 0.0))]
    one = svg.stacked_bars(rows, SERIES, chart_id="c", title="t", fmt=str)
    assert one == svg.stacked_bars(rows, SERIES, chart_id="c", title="t", fmt=str)
    empty = _parse(svg.stacked_bars([], SERIES, chart_id="e", title="t", fmt=str))
    assert _segments(empty) == []


def test_bad_rows_are_rejected() -> None:
    with pytest.raises(ValueError, match="3 series"):
        svg.stacked_bars([svg.Row("a", (1.0,))], SERIES, chart_id="c", title="t", fmt=str)
    with pytest.raises(ValueError, match="not negative"):
        svg.grouped_bars([svg.Row("a", (-1.0, 1.0, 1.0))], SERIES, chart_id="c", title="t", fmt=str)


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (0.0, [0.0, 1.0]),
        (1000.0, [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]),
        (2.7e9, [0.0, 1e9, 2e9, 3e9]),
        (7.0, [0.0, 2.0, 4.0, 6.0, 8.0]),
    ],
)
def test_nice_ticks(maximum: float, expected: list[float]) -> None:
    assert svg.nice_ticks(maximum) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (416.0, [0.0, 120.0, 240.0, 360.0, 480.0]),  # a 7-minute pull: whole minutes
        (3.0, [0.0, 1.0, 2.0, 3.0]),
        (0.0, [0.0, 1.0]),
    ],
)
def test_time_ticks(seconds: float, expected: list[float]) -> None:
    assert svg.time_ticks(seconds) == expected
