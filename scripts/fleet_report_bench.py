"""Time `report` and `recommend` over a generated fleet in a local registry (issue #17): 1,000 and 5,000 images.

    .venv/bin/python scripts/fleet_report_bench.py [--images 1000 5000] [--work-dir DIR]

Starts a distribution registry on 127.0.0.1 (tests/support/registry.py) and pushes N Windows app images with the
tests' independent pusher: repositories of up to eight tags on the Server Core LTSC 2019 stand-in of the fixtures
(foreign base layers, sized by the catalog, never fetched), most through one of four shared runtime layers, each
with its own small app layer; one repository in ten is a Linux image (which the WS2019 node cannot run). A
workload gives each reference 1–40 launches a day. The store is warmed once by `scan`; then each command runs
under GNU time (`/usr/bin/time -v`: wall seconds and peak RSS), the median of --runs runs:

    report -o json                                   (no profile: the baseline)
    report --profile eks-ws2019-core -o json         (plus the bake recommendation)
    report --profile eks-ws2019-core -o html
    recommend --profile eks-ws2019-core -o json

Prints a Markdown table (BENCHMARKS.md's fleet section comes from here, via scripts/bench.py).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import fixturegen as fg  # noqa: E402
from tests.support.images import push  # noqa: E402
from tests.support.push import Pusher  # noqa: E402
from tests.support.registry import RegistryProcess, find_registry_binary  # noqa: E402

PROFILE = "eks-ws2019-core"
SECTION = "## Fleet report: 1,000 and 5,000 images"
GNU_TIME = "/usr/bin/time"


def _windows_base() -> tuple[list[fg.ForeignLayer], str]:
    b = fg.SERVERCORE_2019_05
    layers = [
        fg.foreign_layer(b.base_digest, b.base_size, fg.placeholder_diff_id(b.base_digest)),
        fg.foreign_layer(b.update_digest, b.update_size, fg.placeholder_diff_id(b.update_digest)),
    ]
    return layers, b.os_version


def _history(n: int) -> list[dict[str, str]]:
    return [{"created": fg.CREATED, "created_by": f"COPY layer{i} /"} for i in range(n)]


def push_fleet(url: str, host: str, n: int, seed: str = "fleet-bench") -> list[dict[str, object]]:
    """Push *n* images; the workload entries (ref, weight), one per reference."""
    rng = random.Random(seed)
    base, os_version = _windows_base()
    runtimes = [
        fg.make_layer(fg.windows_app_entries(f"bench-runtime-{k}", size_kib=64), "gzip", media_type=fg.DOCKER_LAYER)
        for k in range(4)
    ]
    linux_base = fg.make_layer(fg.linux_base_entries("bench-linux"), "gzip")
    entries: list[dict[str, object]] = []
    repo = 0
    with Pusher(url, timeout=120) as pusher:
        while len(entries) < n:
            repo += 1
            linux = rng.random() < 0.1
            runtime = rng.choice([None, *runtimes]) if not linux else None
            weight = rng.choice([1, 2, 5, 10, 40])
            for tag in range(rng.randint(1, 8)):
                if len(entries) >= n:
                    break
                name = f"team{repo % 29:02d}/app{repo:04d}"
                seed_ = f"bench-{repo}-{tag}"
                if linux:
                    app = fg.make_layer(fg.linux_extra_entries(seed_), "gzip")
                    image = fg.make_image(
                        [linux_base, app],
                        fg.make_config([linux_base.diff_id, app.diff_id], _history(2), os_name="linux"),
                    )
                else:
                    app = fg.make_layer(fg.windows_app_entries(seed_, size_kib=8), "gzip", media_type=fg.DOCKER_LAYER)
                    layers: list[fg.Layer | fg.ForeignLayer] = [*base, *([runtime] if runtime else []), app]
                    config = fg.make_config(
                        [layer.diff_id for layer in layers],
                        _history(len(layers)),
                        os_name="windows",
                        os_version=os_version,
                        docker=True,
                    )
                    image = fg.make_image(layers, config, docker=True)
                push(pusher, name, f"1.{tag}", image)
                entries.append({"ref": f"{host}/{name}:1.{tag}", "weight": weight})
    return entries


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run under GNU time."""
    started = time.monotonic()
    cmd = [GNU_TIME, "-v", *argv] if Path(GNU_TIME).exists() else argv
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])}… failed ({done.returncode}): {done.stderr[-2000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return wall, (int(rss.group(1)) / 1024 if rss else float("nan"))


def bench(sizes: list[int], runs: int, work: Path) -> list[tuple[int, str, float, float]]:
    """Rows (images, command, median wall seconds, peak RSS MiB)."""
    binary = find_registry_binary()
    if binary is None:
        raise SystemExit("the docker-registry binary is not installed (make registry-bin)")
    layerscope = str(ROOT / ".venv" / "bin" / "layerscope")
    rows: list[tuple[int, str, float, float]] = []
    for n in sizes:
        registry = RegistryProcess(work / f"registry-{n}", binary=binary).start()
        try:
            started = time.monotonic()
            entries = push_fleet(registry.url, registry.host, n)
            print(f"{n}: pushed in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
            workload = work / f"workload-{n}.yaml"
            workload.write_text(yaml.safe_dump({"images": entries}), encoding="utf-8")
            env = {**os.environ, "LAYERSCOPE_STORE": str(work / f"store-{n}.sqlite3"), "NO_PROXY": "127.0.0.1"}
            for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
                env.pop(var, None)
            common = ["--workload", str(workload), "--plain-http", "--no-progress"]
            warm = timed([layerscope, "report", *common, "-o", "json", "--output", os.devnull], env)
            print(f"{n}: store warmed in {warm[0]:.0f} s", file=sys.stderr, flush=True)
            commands = {
                "report -o json (no profile)": ["report", *common, "-o", "json"],
                f"report --profile {PROFILE} -o json": ["report", *common, "--profile", PROFILE, "-o", "json"],
                f"report --profile {PROFILE} -o html": ["report", *common, "--profile", PROFILE, "-o", "html"],
                f"recommend --profile {PROFILE} -o json": ["recommend", *common, "--profile", PROFILE, "-o", "json"],
            }
            for label, args in commands.items():
                out = ["--output", str(work / "out")]
                results = [timed([layerscope, *args, *out], env) for _ in range(runs)]
                wall = statistics.median(r[0] for r in results)
                rss = max(r[1] for r in results)
                rows.append((n, label, wall, rss))
                print(f"{n}: {label}: {wall:.1f} s, {rss:.0f} MiB", file=sys.stderr, flush=True)
        finally:
            registry.stop()
    return rows


def table(rows: list[tuple[int, str, float, float]]) -> str:
    """The Markdown table of *rows*, with each command's time relative to the same fleet's no-profile report."""
    base = {n: wall for n, label, wall, _ in rows if label.startswith("report -o json")}
    lines = ["| images | command | wall (median) | × no-profile report | peak RSS |", "|---:|---|---:|---:|---:|"]
    for n, label, wall, rss in rows:
        lines.append(f"| {n:,} | `{label}` | {wall:.1f} s | {wall / base[n]:.1f} | {rss:.0f} MiB |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work-dir", help="where the registries and stores go (default: the system temp dir)")
    parser.add_argument("--section", help="also write the table as the fleet section of this Markdown file")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="layerscope-fleet-bench-", dir=args.work_dir))
    try:
        text = table(bench(args.images, args.runs, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(text)
    if args.section:
        _write_section(Path(args.section), text, args.runs)
    return 0


def _write_section(path: Path, text: str, runs: int) -> None:
    """Replace (or add) the `## Fleet report` section of *path* with *text*."""
    body = (
        f"{SECTION}\n\nscripts/fleet_report_bench.py: a generated fleet in a local registry, warm store, median "
        f"of {runs} run(s) under GNU time; peak RSS is the largest of the runs.\n\n{text}\n"
    )
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if SECTION in old:
        head, tail = old.split(SECTION, 1)
        rest = tail.split("\n## ", 1)
        old = head + ("## " + rest[1] if len(rest) > 1 else "")
    path.write_text(old.rstrip("\n") + "\n\n" + body, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
