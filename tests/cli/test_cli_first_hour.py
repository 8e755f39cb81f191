"""Issue #18, "the first hour as a user": each case typed as a user would, against the fixture layout or
the test registry (tests/support/registry.py). Sizes and digests come from the independent pusher and
fixturegen, never from layerscope.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.images import push, simple_image, write_image_layout
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess

Layerscope = Callable[..., Run]
ERROR_LINE = re.compile(r"^layerscope: error: .+ \(hint: .+\)$")


def _one_error_line(run: Run, code: int) -> str:
    assert run.exit_code == code, (run.exit_code, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert ERROR_LINE.match(lines[0]), lines[0]
    assert "Traceback" not in run.stderr and "Usage:" not in run.stderr
    return lines[0]


def _linux_image(seed: str) -> fixturegen.Image:
    entries = fixturegen.linux_extra_entries(seed) + fixturegen.linux_app_entries(seed)
    return simple_image([fixturegen.make_layer(entries, "gzip")])


# -- item 12: usage errors are one line ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "contains"),
    [
        (("analyze",), "missing argument 'REF...'"),
        (("analyze", "x", "--frob"), "no such option"),
        (("report", "x", "--max-pull", "12 parsecs"), "invalid value for '--max-pull'"),
        (("recommend", "--workload", "w.yaml", "--budget", "lots"), "invalid value for '--budget'"),
        (("analyze", "x", "-o", "yaml"), "invalid value for '-o'"),
    ],
)
def test_usage_errors_are_one_line_with_a_hint(args: tuple[str, ...], contains: str, layerscope: Layerscope) -> None:
    line = _one_error_line(layerscope(*args), 2)
    assert contains in line and "--help" in line


def test_help_and_version_still_exit_0(layerscope: Layerscope) -> None:
    assert layerscope("--version").exit_code == 0
    run = layerscope("analyze", "--help")
    assert run.exit_code == 0 and run.stdout.startswith("Usage: layerscope analyze")


# -- item 15: LAYERSCOPE_DEBUG adds context to handled errors --------------------------------------------


def test_debug_adds_the_cause_of_a_handled_error(tmp_path: Path, layerscope: Layerscope) -> None:
    missing = str(tmp_path / "rec.json")
    plain = layerscope("pull-list", "--from-recommendation", missing, "--no-store")
    assert "layerscope: debug:" not in _one_error_line(plain, 2)
    debug = layerscope("pull-list", "--from-recommendation", missing, "--no-store", env={"LAYERSCOPE_DEBUG": "1"})
    assert debug.exit_code == 2
    first, second = debug.stderr.strip().splitlines()
    assert first == plain.stderr.strip()
    assert second.startswith("layerscope: debug: layerscope.errors.UsageError")
    assert "caused by builtins.FileNotFoundError" in second


# -- item 11: one way to say each thing ------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "check"), [(".json", "json"), (".csv", "csv"), (".md", "markdown")])
def test_analyze_format_follows_the_output_suffix(
    suffix: str, check: str, fixture_layout: Path, tmp_path: Path, layerscope: Layerscope
) -> None:
    out = tmp_path / f"out{suffix}"
    run = layerscope("analyze", f"oci:{fixture_layout}:linux-gzip", "--no-store", "--output", str(out))
    assert run.exit_code == 0, run.stderr
    text = out.read_text()
    if check == "json":
        assert Run(0, text, "").json()["schema"] == "layerscope.analysis/v1"
    elif check == "csv":
        assert text.splitlines()[0].count(",") > 3 and not text.startswith("{")
    else:
        assert text.lstrip().startswith(("#", "|"))
    # -o wins over the suffix.
    table = layerscope("analyze", f"oci:{fixture_layout}:linux-gzip", "--no-store", "--output", str(out), "-o", "table")
    assert table.exit_code == 0 and not out.read_text().startswith("{")


def test_diff_and_pull_list_follow_the_output_suffix(
    registry: RegistryProcess,
    pusher: Pusher,
    repo_name: str,
    fixture_layout: Path,
    tmp_path: Path,
    layerscope: Layerscope,
) -> None:
    a, b = f"oci:{fixture_layout}:linux-gzip", f"oci:{fixture_layout}:linux-zstd"
    out = tmp_path / "diff.json"
    assert layerscope("diff", a, b, "--no-store", "--output", str(out)).exit_code == 0
    assert json.loads(out.read_text())["schema"] == "layerscope.diff/v1"
    ref = push(pusher, repo_name, "1", _linux_image("pull-list-suffix"))
    pulls = tmp_path / "pull.json"
    run = layerscope("pull-list", ref.ref, "--no-store", "--output", str(pulls))
    assert run.exit_code == 0, run.stderr
    assert ref.digest in json.dumps(json.loads(pulls.read_text()))
    script = tmp_path / "pull.ps1"
    assert layerscope("pull-list", ref.ref, "--no-store", "--output", str(script)).exit_code == 0
    # -o is pull-list's format option too (--format stays).
    short = layerscope("pull-list", ref.ref, "--no-store", "-o", "powershell")
    long = layerscope("pull-list", ref.ref, "--no-store", "--format", "powershell")
    assert short.exit_code == 0 and short.stdout == long.stdout == script.read_text() != ""


def test_recommend_output_json_feeds_pull_list(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, tmp_path: Path, layerscope: Layerscope
) -> None:
    """The newcomer's round trip: `recommend --output rec.json` then `pull-list --from-recommendation rec.json`."""
    app = fixturegen.make_layer(fixturegen.windows_app_entries("rec-roundtrip", size_kib=16), "gzip")
    image = simple_image([app], os_name="windows", os_version="10.0.17763.2928", history=["COPY app C:\\app"])
    ref = push(pusher, repo_name, "1", image)
    workload = tmp_path / "workload.yaml"
    workload.write_text(yaml.safe_dump({"images": [{"ref": ref.ref, "weight": 10}]}))
    profile = tmp_path / "node.yaml"
    profile.write_text("extends: eks-ws2019-core\nname: bare\nbaked: []\n")
    rec = tmp_path / "rec.json"
    run = layerscope(
        "recommend", "--workload", str(workload), "--profile", str(profile), "--no-store", "--output", str(rec)
    )
    assert run.exit_code == 0, run.stderr
    doc = json.loads(rec.read_text())
    assert doc["schema"] == "layerscope.recommendation/v1"
    assert [c["digest"] for c in doc["chosen"]] == [ref.digest]
    pulls = layerscope("pull-list", "--from-recommendation", str(rec), "--no-store")
    assert pulls.exit_code == 0, pulls.stderr
    assert f"{registry.host}/{repo_name}@{ref.digest}" in pulls.stdout


def test_report_gate_is_max_pull_and_fail_over_stays_hidden(
    fixture_layout: Path, tmp_path: Path, layerscope: Layerscope
) -> None:
    ref = f"oci:{fixture_layout}:linux-gzip"
    for name in ("--max-pull", "--fail-over"):
        run = layerscope("report", ref, "--no-store", name, "1", "-o", "json", "--output", str(tmp_path / "r.json"))
        assert run.exit_code == 6, (name, run.stderr)
        assert "gate exceeded" in run.stderr
    help_text = layerscope("report", "--help").stdout
    assert "--max-pull" in help_text and "--fail-over" not in help_text


def test_help_says_the_true_defaults_and_requirements(layerscope: Layerscope) -> None:
    report = " ".join(layerscope("report", "--help").stdout.split())
    assert "85% of the profile's root volume" in report and "minus the OS footprint" in report
    assert "$LAYERSCOPE_STORE" in report and "~/.cache/layerscope/measurements.sqlite3" in report
    assert "not repeatable" in report
    recommend = " ".join(layerscope("recommend", "--help").stdout.split())
    assert "--budget SIZE" in recommend and "[required]" in recommend
    stats = " ".join(layerscope("store", "stats", "--help").stdout.split())
    assert "$LAYERSCOPE_STORE" in stats


# -- item 8: files that are not there --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_missing_baked_file_is_file_not_found(
    kind: str, fixture_layout: Path, tmp_path: Path, layerscope: Layerscope, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    value = "baked2.txt" if kind == "relative" else str(tmp_path / "nowhere" / "baked.txt")
    line = _one_error_line(layerscope("analyze", f"oci:{fixture_layout}:linux-gzip", "--baked", value), 2)
    assert f"--baked {value}: file not found" in line
    assert "docker.io" not in line and "repository name" not in line


def test_store_stats_on_a_typo_does_not_create_a_store(tmp_path: Path, layerscope: Layerscope) -> None:
    typo = tmp_path / "typo.sqlite3"
    line = _one_error_line(layerscope("store", "stats", "--store", str(typo)), 2)
    assert "no measurement store at" in line
    assert (not typo.exists() and list(tmp_path.iterdir()) == [tmp_path / "store"]) or not typo.exists()
    prune = layerscope("store", "prune", "--store", str(typo))
    assert prune.exit_code == 2 and not typo.exists()


def test_store_stats_without_a_store_reports_it_empty_and_creates_nothing(
    isolated_store: Path, layerscope: Layerscope
) -> None:
    run = layerscope("store", "stats")
    assert run.exit_code == 0 and "entries: 0" in run.stdout
    assert not isolated_store.exists() and not isolated_store.parent.exists()


def test_scan_that_matches_nothing_warns_or_exits_4(
    registry: RegistryProcess, repo_name: str, layerscope: Layerscope
) -> None:
    with Pusher(registry.url) as pusher:
        push(pusher, repo_name, "v1", _linux_image("scan-match"))
    target = f"{registry.host}/{repo_name}"
    nothing = layerscope("scan", target, "--tags", "nomatch*", "--no-store")
    line = _one_error_line(nothing, 4)
    assert "no image of" in line and "nomatch*" in line
    typo = layerscope("scan", f"{registry.host}/{repo_name}-typo", "--no-store")
    assert "no image of" in _one_error_line(typo, 4)
    partly = layerscope("scan", target, "--tags", "v1", "--tags", "zzz", "--no-store", "-o", "json")
    assert partly.exit_code == 0, partly.stderr
    assert "layerscope: warning: --tags 'zzz' matched no tag of" in partly.stderr
    doc = partly.json()
    assert len(doc["images"]) == 1
    assert any("'zzz' matched no tag" in w for w in doc["warnings"])


# -- item 13: hints that fit -----------------------------------------------------------------------------


def test_unknown_host_hint_is_mirror_not_plain_http(layerscope: Layerscope) -> None:
    # `.invalid` never resolves (RFC 6761 §6.4): the lookup fails locally, no public host is contacted.
    line = _one_error_line(layerscope("analyze", "registry.invalid/team/app:1", "--no-store"), 5)
    assert "cannot resolve host name 'registry.invalid'" in line
    assert "--mirror registry.invalid=" in line and "plain-http" not in line


@pytest.mark.parametrize(
    ("reference", "message", "hint"),
    [
        ("https://registry.example.com/team/app:1", "a reference has no URL scheme", "drop the 'https://'"),
        ("user:s3cret@registry.example.com/team/app:1", "credentials in reference", "docker login"),
    ],
)
def test_urls_and_credentials_in_references_get_their_own_message(
    reference: str, message: str, hint: str, layerscope: Layerscope
) -> None:
    line = _one_error_line(layerscope("analyze", reference), 2)
    assert message in line and hint in line and "s3cret" not in line


def test_from_recommendation_names_what_it_expected(
    fixture_layout: Path, tmp_path: Path, layerscope: Layerscope
) -> None:
    analysis = tmp_path / "a.json"
    assert (
        layerscope("analyze", f"oci:{fixture_layout}:linux-gzip", "--no-store", "--output", str(analysis)).exit_code
        == 0
    )
    line = _one_error_line(layerscope("pull-list", "--from-recommendation", str(analysis), "--no-store"), 2)
    assert "is a layerscope.analysis/v1 document; expected a layerscope.recommendation/v1 document" in line
    table = tmp_path / "rec.txt"
    table.write_text("REFERENCE  DIGEST\n")
    line = _one_error_line(layerscope("pull-list", "--from-recommendation", str(table), "--no-store"), 2)
    assert "is not JSON; expected a layerscope.recommendation/v1 document" in line
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"schema": "layerscope.recommendation/v1", "chosen": [], "not_chosen": []}))
    line = _one_error_line(layerscope("pull-list", "--from-recommendation", str(empty), "--no-store"), 2)
    assert "chose no image to bake" in line


# -- item 1: warnings on stderr and in the document ------------------------------------------------------


def _ws2022_node(tmp_path: Path) -> Path:
    profile = tmp_path / "ws2022.yaml"
    profile.write_text("extends: eks-ws2022-core\nname: ws2022-bare\nbaked: []\n")
    return profile


def test_image_warnings_reach_stderr_whatever_the_output(
    fixture_layout: Path, tmp_path: Path, layerscope: Layerscope
) -> None:
    ref = f"oci:{fixture_layout}:windows-app"
    out = tmp_path / "w.txt"
    run = layerscope("analyze", ref, "--profile", str(_ws2022_node(tmp_path)), "--no-store", "--output", str(out))
    assert run.exit_code == 0, run.stderr
    assert f"layerscope: warning: {ref}: OS build 10.0.17763.2928 cannot run with process isolation" in run.stderr
    assert "cannot run with process isolation" in out.read_text()


def test_unresolved_baked_entry_is_in_the_json(
    registry: RegistryProcess, fixture_layout: Path, tmp_path: Path, layerscope: Layerscope
) -> None:
    missing = f"{registry.host}/nobody/here:1"
    run = layerscope(
        "analyze",
        f"oci:{fixture_layout}:windows-app",
        "--profile",
        str(_ws2022_node(tmp_path)),
        "--baked",
        missing,
        "--no-store",
        "-o",
        "json",
    )
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    (entry,) = doc["baked_unresolved"]
    assert entry["reference"] == missing and "its layers are unknown" in entry["reason"]
    assert doc["baked"] == [missing]
    (warning,) = doc["warnings"]
    assert f"baked image {missing} not resolved" in warning
    assert f"layerscope: warning: {warning}" in run.stderr
    (image,) = doc["images"]
    assert any("process isolation" in w for w in image["warnings"])
    assert "process isolation" in run.stderr


def test_resolved_baked_set_has_no_unresolved_entries(
    registry: RegistryProcess, repo_name: str, fixture_layout: Path, layerscope: Layerscope
) -> None:
    with Pusher(registry.url) as pusher:
        ref = push(pusher, repo_name, "1", _linux_image("baked-ok"))
    run = layerscope("analyze", f"oci:{fixture_layout}:linux-gzip", "--baked", ref.ref, "--no-store", "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["baked"] == [f"{registry.host}/{repo_name}@{ref.digest}"]
    assert doc["baked_unresolved"] == [] and doc["warnings"] == [] and run.stderr == ""


# -- item 5: diff of two images on the same build --------------------------------------------------------


def _windows_style(seed: str, app: list[fixturegen.Layer]) -> fixturegen.Image:
    base = fixturegen.make_layer(fixturegen.windows_base_entries(seed), "gzip")
    return simple_image(
        [base, *app],
        os_name="windows",
        os_version="10.0.17763.3887",
        history=["Apply image 10.0.17763.3887", *[f"COPY app{i} C:\\app" for i in range(len(app))]],
    )


def test_diff_of_a_repacked_base_on_the_same_build(tmp_path: Path, layerscope: Layerscope) -> None:
    app = [fixturegen.make_layer(fixturegen.windows_app_entries("same-build-app", size_kib=16), "gzip")]
    a = write_image_layout(tmp_path / "a", "a", _windows_style("same-build-base", app))
    b = write_image_layout(tmp_path / "b", "b", _windows_style("same-build-base-repacked", app))
    doc = layerscope("diff", a, b, "--no-store", "-o", "json").json()
    assert doc["a"]["base"]["os_version"] == doc["b"]["base"]["os_version"] == "10.0.17763.3887"
    assert doc["shared"]["layers"] == 0
    assert doc["base"] == {"same_revision": False, "same_channel": True, "same_os_version": True}
    # The app layer sits at the same position in both: no `same_content_as` (only at another position).
    assert [x["digest"] for x in doc["only_in_b"]][1:] == [app[0].digest]
    assert all(x["same_content_as"] is None for x in doc["only_in_a"] + doc["only_in_b"])
    table = layerscope("diff", a, b, "--no-store").stdout
    assert "another monthly revision" not in table
    assert "same revision, but its layers differ" in table


# -- item 10: --attach ------------------------------------------------------------------------------------


def test_attach_with_estimate_is_refused(registry: RegistryProcess, layerscope: Layerscope) -> None:
    line = _one_error_line(layerscope("analyze", f"{registry.host}/any/thing:1", "--attach", "--estimate"), 2)
    assert "--attach pushes exact measurements only" in line


def test_attach_confirms_what_was_pushed_where(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Layerscope
) -> None:
    ref = push(pusher, repo_name, "v1", _linux_image("attach-confirm"))
    run = layerscope("analyze", ref.ref, "--attach", "--no-store", "-o", "json")
    assert run.exit_code == 0, run.stderr
    body, _, _ = pusher.get_manifest(
        repo_name, ref.digest.replace(":", "-"), accept="application/vnd.oci.image.index.v1+json"
    )
    (artifact,) = json.loads(body)["manifests"]
    subject = f"{registry.host}/{repo_name}@{ref.digest}"
    assert f"layerscope: attached analysis {artifact['digest']} to {subject}" in run.stderr
    again = layerscope("analyze", ref.ref, "--attach", "--no-store", "-o", "json")
    assert f"layerscope: {subject}: the attached analysis is up to date; nothing pushed" in again.stderr


# -- item 9: the referrers API, asked once per registry in a run ------------------------------------------


@pytest.mark.parametrize("how", ["analyze --attach", "scan --use-attached"])
def test_referrers_api_is_asked_once_per_run(
    how: str, registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Layerscope
) -> None:
    refs = [push(pusher, repo_name, f"v{i}", _linux_image(f"referrers-{i}")).ref for i in range(6)]
    mark = registry.mark()
    if how == "analyze --attach":
        run = layerscope("analyze", *refs, "--attach", "--no-store", "-o", "json")
    else:
        run = layerscope("scan", f"{registry.host}/{repo_name}", "--use-attached", "--no-store", "-o", "json")
    assert run.exit_code == 0, run.stderr
    asked = [r for r in registry.requests(mark) if "/referrers/" in r.path]
    # distribution 2.8 has no referrers API (404): learnt once, then the tag schema for every image
    # (before #18 the images looked up in parallel each asked: 3-4 requests for these 6 images).
    assert len(asked) == 1, [r.path for r in asked]
    tag_reads = {r.path for r in registry.requests(mark) if "/manifests/sha256-" in r.path}
    assert len(tag_reads) == len(refs)


def test_rate_limit_hint_names_concurrency(layerscope: Layerscope) -> None:
    """A registry that keeps answering 429 (a tiny local server: the test registry has no rate limit)."""
    import http.server
    import threading

    class TooMany(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TooMany)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        run = layerscope("analyze", f"127.0.0.1:{server.server_address[1]}/team/app:1", "--no-store")
    finally:
        server.shutdown()
        server.server_close()
    line = _one_error_line(run, 5)
    assert "--concurrency 1" in line and "LAYERSCOPE_CONCURRENCY" not in line


def test_report_warnings_reach_stderr_and_the_report(
    registry: RegistryProcess, fixture_layout: Path, tmp_path: Path, layerscope: Layerscope
) -> None:
    ref = f"oci:{fixture_layout}:windows-app"
    missing = f"{registry.host}/nobody/here:1"
    out = tmp_path / "r.json"
    profile = str(_ws2022_node(tmp_path))
    run = layerscope("report", ref, "--profile", profile, "--baked", missing, "--no-store", "--output", str(out))
    assert run.exit_code == 0, run.stderr
    assert f"layerscope: warning: {ref}: OS build 10.0.17763.2928 cannot run with process isolation" in run.stderr
    doc = json.loads(out.read_text())
    assert any(f"baked image {missing} not resolved" in w for w in doc["warnings"])
