"""Measure scan throughput on a local registry: the analyzer's thread pool vs Dask LocalClusters.

    .venv/bin/python scripts/fleet_bench.py [--images 24] [--layer-mib 6]

Starts a distribution registry on 127.0.0.1 (tests/support/registry.py), pushes generated images (one
shared base layer + two own layers each, half random and half repeated bytes, gzip) with the tests'
independent pusher, then times `scan` of that registry several ways, each with a fresh measurement
store, and prints layers/s and MiB/s overall and per worker. The numbers in docs/fleet.md come from here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layerscope.executor import DaskExecutor, WorkerSettings  # noqa: E402
from layerscope.fleet import FleetOptions, FleetSession  # noqa: E402
from layerscope.scan import ScanOptions, parse_target, scan  # noqa: E402
from layerscope.session import Session, Settings  # noqa: E402
from scripts import fixturegen  # noqa: E402
from tests.support.images import push, simple_image  # noqa: E402
from tests.support.push import Pusher  # noqa: E402
from tests.support.registry import RegistryProcess, find_registry_binary  # noqa: E402

MIB = 1 << 20


def _push_fleet(url: str, images: int, layer_mib: float) -> tuple[int, int, int]:
    """Push the images; return (unique layers, compressed bytes, uncompressed bytes) of the unique layers."""
    base = fixturegen.big_layer(layer_mib * 2, seed="bench-base")
    unique = {base.digest: base}
    with Pusher(url, timeout=120) as pusher:
        for i in range(images):
            own = [fixturegen.big_layer(layer_mib, seed=f"bench-{i}-{n}") for n in range(2)]
            unique.update((layer.digest, layer) for layer in own)
            push(pusher, f"bench/app-{i // 4:02d}", f"v{i % 4}", simple_image([base, *own]))
    compressed = sum(layer.expected.size for layer in unique.values())
    uncompressed = sum(layer.expected.uncompressed_size for layer in unique.values())
    return len(unique), compressed, uncompressed


def _cpu(executor: Any) -> float:
    """CPU seconds used so far: by the Dask workers when *executor* is one, else by this process."""
    if isinstance(executor, DaskExecutor):
        return float(sum(executor._client.run(time.process_time).values()))
    return time.process_time()


def _timed(host: str, store: Path, options: FleetOptions, executor: Any = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of whoever measured) of one scan of the bench repositories."""
    store.unlink(missing_ok=True)  # every repeat starts with an empty store
    with Session(Settings(store_path=store)) as session, FleetSession(session, options) as fleet:
        if executor is not None:
            session.analyzer.executor = executor
        cpu, start = _cpu(executor), time.perf_counter()
        scan(fleet, parse_target(f"{host}/bench"), ScanOptions(fresh=True))
        elapsed, cpu = time.perf_counter() - start, _cpu(executor) - cpu
        if executor is not None:
            session.analyzer.executor = None
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--layer-mib", type=float, default=6.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind; the median is shown")
    args = parser.parse_args()
    binary = find_registry_binary()
    if binary is None:
        sys.exit("needs the docker-registry binary (apt-get install docker-registry)")
    with tempfile.TemporaryDirectory() as tmp, RegistryProcess(Path(tmp) / "registry", binary=binary) as registry:
        t0 = time.perf_counter()
        layers, compressed, uncompressed = _push_fleet(registry.url, args.images, args.layer_mib)
        print(
            f"pushed {args.images} images, {layers} unique layers, {compressed / MIB:.1f} MiB compressed, "
            f"{uncompressed / MIB:.1f} MiB uncompressed in {time.perf_counter() - t0:.1f} s"
        )
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        rows: list[tuple[str, int, float, float]] = []
        n = 0

        def store() -> Path:
            nonlocal n
            n += 1
            return Path(tmp) / f"store-{n}.sqlite3"

        def median(run: Any) -> tuple[float, float]:
            times = []
            for _ in range(args.repeat):
                times.append(run())
                time.sleep(0.5)  # let the Dask scheduler release the last run's task keys
            return statistics.median(t for t, _ in times), statistics.median(c for _, c in times)

        pool, threads = FleetOptions(), FleetOptions(executor="threads")
        rows.append(("analyzer thread pool (4 threads)", 1, *median(lambda: _timed(registry.host, store(), pool))))
        rows.append(("--executor threads (4 threads)", 1, *median(lambda: _timed(registry.host, store(), threads))))
        for workers in (1, 2):
            path = store()
            t1 = time.perf_counter()
            # Workers keep no store here: a repeat must measure again, not find the previous run's rows.
            executor = DaskExecutor(WorkerSettings(), n_workers=workers)
            startup = time.perf_counter() - t1
            try:
                # Each repeat submits the same task keys again: the scheduler has released them, so they rerun.
                elapsed, cpu = median(lambda p=path, e=executor: _timed(registry.host, p, pool, e))
            finally:
                executor.close()
            rows.append(
                (f"Dask LocalCluster, {workers} worker process(es) (+{startup:.1f} s start)", workers, elapsed, cpu)
            )
        _timed(registry.host, store(), FleetOptions(attach=True))
        mark = registry.mark()
        elapsed, cpu = _timed(registry.host, store(), FleetOptions(use_attached=True))
        gets = len([r for r in registry.blob_gets(mark) if r.status == 200])
        # Per image: its config and its attached document; anything more would be a layer download.
        rows.append((f"--use-attached ({gets} blob GETs for {args.images} images)", 1, elapsed, cpu))
        print(f"load average before the runs: {load}; {os.cpu_count()} cores")
        # cpu s: CPU seconds of the measuring processes (this one, or the Dask workers). Layers per CPU
        # second is what one worker sustains with a core to itself, whatever else the machine is doing.
        print(
            f"{'run':64} {'s':>6} {'layers/s':>9} {'per worker':>10} {'MiB/s in':>9} {'cpu s':>6} {'layers/cpu-s':>12}"
        )
        for name, workers, seconds, cpu in rows:
            rate = layers / seconds
            print(
                f"{name:64} {seconds:6.2f} {rate:9.1f} {rate / workers:10.1f} {uncompressed / MIB / seconds:9.1f}"
                f" {cpu:6.2f} {layers / cpu:12.1f}"
            )


if __name__ == "__main__":
    main()
