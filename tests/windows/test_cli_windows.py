"""`layerscope catalog when` and `layerscope catalog amis`, as a user types them."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.conftest import Run
from tests.windows.shipped import rows

Cli = Callable[..., Run]


def test_when_os_version_table(layerscope: Cli) -> None:
    run = layerscope("catalog", "when", "10.0.17763.1879")
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "10.0.17763.1879  ltsc2019 (build 17763)"
    assert "  released    2021-04-13 (month 2021-04)" in lines
    assert "  KB          KB5001342" in lines
    assert "  kind        b (2021-04 B)" in lines
    assert "  container   yes (repo-info); images servercore, nanoserver" in lines
    assert any(x.startswith("  source      windows-builds.csv: altrhombus/DataForGeeks@") for x in lines)


def test_when_kb_json(layerscope: Cli) -> None:
    run = layerscope("catalog", "when", "KB4519338", "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["schema"] == "layerscope.catalog.when/v1" and doc["query"] == "KB4519338"
    got = {m["os_version"]: (m["month"], m["kb"], m["images"]) for m in doc["matches"]}
    assert got == {
        "10.0.17763.802": ("2019-10", "KB4519338", ["nanoserver"]),
        "10.0.17763.805": ("2019-10", "KB4519338", ["servercore"]),
    }
    assert all(m["source"] and m["channel"] == "ltsc2019" and m["version"] is None for m in doc["matches"])


def test_when_every_build_row_through_the_cli(layerscope: Cli) -> None:
    # A sample across the table through the whole command (the model is tested on every row).
    table = rows("windows-builds.csv")
    for r in table[:: len(table) // 25]:
        doc = layerscope("catalog", "when", r["os_version"], "-o", "json").json()
        (m,) = doc["matches"]
        assert (m["release_date"] or None, m["kb"] or None, m["kind"]) == (
            r["release_date"] or None,
            r["kb"] or None,
            r["kind"],
        )


def test_when_sac_build_warns(layerscope: Cli) -> None:
    run = layerscope("catalog", "when", "10.0.18363.1556", "-o", "json")
    (m,) = run.json()["matches"]
    assert (m["channel"], m["version"], m["month"], m["kb"]) == (None, "1909", "2021-05", "KB5003169")
    assert any("out of support" in w for w in m["warnings"])
    table = layerscope("catalog", "when", "18363.1556").stdout
    assert "SAC 1909 (build 18363)" in table and "warning     SAC build" in table


def test_when_undated_container_build_says_where_its_month_comes_from(layerscope: Cli) -> None:
    out = layerscope("catalog", "when", "10.0.17763.1040").stdout
    assert "released    no release date (month 2020-02)" in out
    assert "month from  undated; placed in its month by its note" in out
    assert "KB          unknown" in out


def test_when_unknown_build_exits_4_with_a_hint(layerscope: Cli) -> None:
    run = layerscope("catalog", "when", "10.0.17763.99999")
    assert run.exit_code == 4 and run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith("layerscope: error: 10.0.17763.99999 is not in the Windows build tables (hint:")
    assert "10.0.17763.9121 (2026-08)" in run.stderr
    unknown_build = layerscope("catalog", "when", "10.0.22000.1")
    assert unknown_build.exit_code == 4 and "14393, 17763, 20348, 26100" in unknown_build.stderr
    kb = layerscope("catalog", "when", "KB1234567")
    assert kb.exit_code == 4 and "hint:" in kb.stderr
    bad = layerscope("catalog", "when", "ltsc2019")
    assert bad.exit_code == 2 and "neither an os_version nor a KB" in bad.stderr


def test_amis_table_for_a_family(layerscope: Cli) -> None:
    run = layerscope("catalog", "amis", "--service", "eks", "--build", "2019", "--k8s", "1.31", "--edition", "core")
    assert run.exit_code == 0, run.stderr
    line = next(
        x
        for x in run.stdout.splitlines()
        if x.startswith("Windows_Server-2019-English-Core-EKS_Optimized-1.31-2025.04.14")
    )
    cells = line.split()
    assert cells[1:3] == ["2025-04-14", "containerd"]
    assert "10.0.17763.7136 or .7009" in line and "Apr 2025 tag lag" in line and "medium" in line
    assert run.stdout.startswith("19 AMI releases; cached revision = the newest container release")


def test_amis_json_names_evidence_and_alternatives(layerscope: Cli) -> None:
    name = "Windows_Server-2022-English-Core-EKS_Optimized-1.29-2024.04.09"
    run = layerscope("catalog", "amis", "--family", name, "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["schema"] == "layerscope.catalog.amis/v1"
    (ami,) = doc["amis"]
    assert ami["ami_name"] == name and ami["in_table"] and ami["source"]
    core = ami["cached"]["servercore"]
    assert (core["os_version"], core["month"], core["kb"], core["basis"]) == (
        "10.0.20348.2402",
        "2024-04",
        "KB5036909",
        "ami-date",
    )
    assert [(a["os_version"], a["kind"]) for a in core["alternatives"]] == [("10.0.20348.2340", "fresh-release")]
    assert [e["os_version"] for e in core["evidence"]] == ["10.0.20348.2402", "10.0.20348.2340"]
    assert all(e["source"] and e["table"] == "windows-builds.csv" for e in core["evidence"])
    assert [(e["release_date"], e["kind"]) for e in core["evidence"]] == [("2024-04-09", "b"), ("2024-03-12", "b")]
    assert ami["cached"]["nanoserver"]["os_version"] == "10.0.20348.2402"


def test_amis_every_row_has_a_prediction(layerscope: Cli) -> None:
    run = layerscope("catalog", "amis", "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert len(doc["amis"]) == 1549
    for ami in doc["amis"]:
        for image in ("servercore", "nanoserver"):
            assert ami["cached"][image]["os_version"], (ami["ami_name"], image)


def test_amis_containerd_on_old_eks_says_no_base_image(layerscope: Cli) -> None:
    run = layerscope(
        "catalog", "amis", "--family", "Windows_Server-2019-English-Core-EKS_Optimized-1.2?", "--runtime", "containerd"
    )
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    old = next(x for x in lines if "EKS_Optimized-1.23-" in x)
    assert "none (containerd)" in old and "EKS <= 1.23 on containerd" in old
    new = next(x for x in lines if "EKS_Optimized-1.24-" in x)
    assert "none" not in new and "10.0.17763." in new
    doc = layerscope("catalog", "amis", "--service", "ecs", "--runtime", "containerd")
    assert doc.exit_code == 4  # ECS runs Docker only: nothing matches


def test_amis_unknown_name_is_inferred_from_the_name(layerscope: Cli) -> None:
    name = "Windows_Server-2022-English-Core-EKS_Optimized-1.35-2026.05.20"
    doc = layerscope("catalog", "amis", "--family", name, "-o", "json").json()
    (ami,) = doc["amis"]
    assert ami == ami | {"ami_name": name, "in_table": False}
    assert ami["cached"]["servercore"]["os_version"] == "10.0.20348.5139"
    table = layerscope("catalog", "amis", "--family", name).stdout
    assert f"{name} (not in table)" in table


def test_amis_errors(layerscope: Cli) -> None:
    none = layerscope("catalog", "amis", "--family", "Windows_Server-2019-English-Core-EKS_Optimized-9.99")
    assert none.exit_code == 4 and none.stdout == "" and "hint:" in none.stderr
    bad = layerscope("catalog", "amis", "--build", "2012")
    assert bad.exit_code == 2 and "unknown Windows build" in bad.stderr
