"""The measurement store end to end: concurrent `layerscope` processes, a process killed mid-analysis, and
corrupt or foreign store files. No wrong number is ever served (rows are verified by schema, checksum,
digest and diff_id), nothing measured is lost, and a bad store costs one warning line, never a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from layerscope.store import SCHEMA_VERSION
from scripts import fixturegen
from tests.integration.conftest import Run
from tests.reliability.helpers import Pushed, assert_image_matches, cli_command, cli_env, push_with_truth
from tests.support.faultproxy import FaultProxy
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess
from tests.support.schemas import validate_document

Layerscope = Callable[..., Run]


@pytest.fixture(scope="module")
def images(registry: RegistryProcess) -> list[Pushed]:
    """Six images on `registry`: two shared bases, a shared middle layer, one own layer each."""
    bases = [fixturegen.make_layer(fixturegen.linux_base_entries(f"store-base-{i}"), "gzip") for i in range(2)]
    middle = fixturegen.make_layer(fixturegen.linux_extra_entries("store-middle"), "zstd")
    out = []
    with Pusher(registry.url) as p:
        for i in range(6):
            own = fixturegen.make_layer(fixturegen.linux_extra_entries(f"store-own-{i}"), "gzip")
            out.append(push_with_truth(p, "store/app", f"v{i}", [bases[i % 2], middle, own]))
    return out


def _unique_layers(images: list[Pushed]) -> set[str]:
    return {d for image in images for d in image.layer_digests}


def _entries(store: Path) -> int:
    """Rows in the store (0 while another process is still creating it)."""
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as conn:
            (n,) = conn.execute("SELECT COUNT(*) FROM layers").fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(n)


def _check_output(path: Path, pushed: list[Pushed]) -> list[str]:
    whole = json.loads(path.read_text())
    validate_document(whole)  # written by a child process: the in-process schema check does not see it
    docs = whole["images"]
    assert len(docs) == len(pushed)
    for doc, image in zip(docs, pushed, strict=True):
        assert_image_matches(doc, image)
    return [layer["size_source"] for doc in docs for layer in doc["layers"]]


def test_two_processes_on_the_same_store_at_once(
    registry: RegistryProcess, images: list[Pushed], tmp_path: Path, isolated_store: Path, layerscope: Layerscope
) -> None:
    with FaultProxy(registry.host) as proxy:
        proxy.delay("/blobs/", 0.05, times=None)  # stretch the runs so that their writes interleave
        env = cli_env(tmp_path, isolated_store)
        halves = [images[:4], images[2:]]  # overlapping: both measure and store images 2 and 3
        procs = [
            subprocess.Popen(
                [
                    *cli_command(),
                    "analyze",
                    *[i.at(proxy.host) for i in half],
                    "-o",
                    "json",
                    "--no-progress",
                    "--output",
                    str(tmp_path / f"out{k}.json"),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for k, half in enumerate(halves)
        ]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err.decode()
            assert err == b""  # not even a warning: SQLite serialises the writers
    for k, half in enumerate(halves):
        _check_output(tmp_path / f"out{k}.json", half)
    assert _entries(isolated_store) == len(_unique_layers(images))
    # A third run finds every layer in the store and downloads none.
    mark = registry.mark()
    run = layerscope("analyze", *[i.at(registry.host) for i in images], "-o", "json")
    assert run.exit_code == 0 and run.stderr == ""
    assert {layer["size_source"] for doc in run.json()["images"] for layer in doc["layers"]} == {"store"}
    assert [r for r in registry.blob_gets(mark) if r.digest in _unique_layers(images)] == []


def test_process_killed_mid_analysis_loses_nothing_it_finished(
    registry: RegistryProcess, images: list[Pushed], tmp_path: Path, isolated_store: Path, layerscope: Layerscope
) -> None:
    stalled = images[5].truths[2].digest  # the last image's own layer never arrives
    out = tmp_path / "out.json"
    with FaultProxy(registry.host) as proxy:
        proxy.delay(f"/blobs/{stalled}$", 30.0, times=None)
        proc = subprocess.Popen(
            [
                *cli_command(),
                "analyze",
                *[i.at(proxy.host) for i in images],
                "-o",
                "json",
                "--no-progress",
                "--output",
                str(out),
            ],
            env=cli_env(tmp_path, isolated_store),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        expected = len(_unique_layers(images)) - 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if isolated_store.exists() and _entries(isolated_store) >= expected and proxy.calls(stalled):
                break
            assert proc.poll() is None, "the analysis ended although a layer never arrived"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert not out.exists() and list(tmp_path.glob(".out.json*")) == []  # no partial output file
    # The killed run's measurements survive; the next run reuses them and is right.
    run = layerscope("analyze", *[i.at(registry.host) for i in images], "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    docs = run.json()["images"]
    for doc, image in zip(docs, images, strict=True):
        assert_image_matches(doc, image)
    sources = {layer["digest"]: layer["size_source"] for doc in docs for layer in doc["layers"]}
    assert sources.pop(stalled) == "measured"
    assert set(sources.values()) == {"store"}
    assert _entries(isolated_store) == len(_unique_layers(images))


# -- corrupt and foreign stores ---------------------------------------------------------------------------------


def _real_store(layerscope: Layerscope, images: list[Pushed], registry: RegistryProcess, path: Path) -> Path:
    """A store written by a real run over *images* (closed, so the WAL is checkpointed into the file)."""
    run = layerscope("analyze", *[i.at(registry.host) for i in images], "--store", str(path), "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


def _garbage(store: Path, real: Path) -> None:
    store.write_bytes(os.urandom(64 * 1024))


def _truncated(store: Path, real: Path) -> None:
    data = real.read_bytes()
    store.write_bytes(data[: len(data) // 2])


def _zeroed_pages(store: Path, real: Path) -> None:
    data = bytearray(real.read_bytes())
    data[4096:] = bytes(len(data) - 4096)  # page 1 intact, every other page zeros
    store.write_bytes(bytes(data))


def _foreign_table(store: Path, real: Path) -> None:
    with sqlite3.connect(store) as conn:
        conn.execute("CREATE TABLE layers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO layers (name) VALUES ('not a layerscope store')")


def _future_schema(store: Path, real: Path) -> None:
    shutil.copy(real, store)
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE layers SET schema = ?", (SCHEMA_VERSION + 1,))


def _older_schema(store: Path, real: Path) -> None:
    """Rows of a store written before schema 2 (no file index, issue #15): measured again without a word."""
    shutil.copy(real, store)
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE layers SET schema = 1")
        conn.execute("DELETE FROM file_indexes")


def _tampered_numbers(store: Path, real: Path) -> None:
    shutil.copy(real, store)
    with sqlite3.connect(store) as conn:
        for digest, record in conn.execute("SELECT digest, record FROM layers").fetchall():
            doc = json.loads(record)
            doc["extracted_bytes"] += 1
            conn.execute("UPDATE layers SET record = ? WHERE digest = ?", (json.dumps(doc, sort_keys=True), digest))


def _swapped_rows(store: Path, real: Path) -> None:
    """Every row holds another layer's (valid, checksummed) record: a digest check must catch it."""
    shutil.copy(real, store)
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT digest, record, checksum FROM layers ORDER BY digest").fetchall()
        for (digest, _, _), (_, record, checksum) in zip(rows, rows[1:] + rows[:1], strict=True):
            conn.execute("UPDATE layers SET record = ?, checksum = ? WHERE digest = ?", (record, checksum, digest))


def _directory(store: Path, real: Path) -> None:
    store.mkdir()
    (store / "something").write_text("a directory where the store file should be")


#: kind: (make it, warnings in the first run, whether the next run is back to normal). A damaged file is
#: moved aside and replaced; another program's database or a directory is left alone and not used.
CORRUPTIONS = {
    "garbage": (_garbage, 1, True),
    "truncated": (_truncated, 1, True),
    "zeroed-pages": (_zeroed_pages, 1, True),
    "future-schema": (_future_schema, 1, True),
    "older-schema": (_older_schema, 0, True),
    "tampered-numbers": (_tampered_numbers, 1, True),
    "swapped-rows": (_swapped_rows, 0, True),
    "foreign-table": (_foreign_table, 1, False),
    "directory": (_directory, 1, False),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupt_or_foreign_store_gives_right_answers_and_one_warning(
    kind: str,
    registry: RegistryProcess,
    images: list[Pushed],
    tmp_path: Path,
    isolated_store: Path,
    layerscope: Layerscope,
) -> None:
    real = _real_store(layerscope, images[:3], registry, tmp_path / "real" / "m.sqlite3")
    corrupt, warnings, recovers = CORRUPTIONS[kind]
    isolated_store.parent.mkdir(parents=True, exist_ok=True)
    corrupt(isolated_store, real)

    run = layerscope("analyze", *[i.at(registry.host) for i in images[:3]], "-o", "json")
    assert run.exit_code == 0, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == warnings, run.stderr
    assert all(line.startswith("layerscope: warning: ") for line in lines)
    docs = run.json()["images"]
    for doc, image in zip(docs, images[:3], strict=True):
        assert_image_matches(doc, image)  # never a number from a bad row
    assert {layer["size_source"] for doc in docs for layer in doc["layers"]} == {"measured"}

    again = layerscope("analyze", *[i.at(registry.host) for i in images[:3]], "-o", "json")
    assert again.exit_code == 0, again.stderr
    for doc, image in zip(again.json()["images"], images[:3], strict=True):
        assert_image_matches(doc, image)
    sources = {layer["size_source"] for doc in again.json()["images"] for layer in doc["layers"]}
    if recovers:
        # Nothing is lost: the first run's measurements were kept, and this run uses them without a word.
        assert again.stderr == "" and sources == {"store"}
        stats = layerscope("store", "stats")
        assert stats.exit_code == 0 and f"entries: {len(_unique_layers(images[:3]))}" in stats.stdout
    else:
        # Not ours to move or repair: the same one warning again, and right numbers again.
        assert len(again.stderr.strip().splitlines()) == 1 and sources == {"measured"}
        assert isolated_store.exists()


def test_store_stats_on_a_damaged_store_is_not_a_crash(
    registry: RegistryProcess, images: list[Pushed], tmp_path: Path, isolated_store: Path, layerscope: Layerscope
) -> None:
    real = _real_store(layerscope, images[:1], registry, tmp_path / "real" / "m.sqlite3")
    isolated_store.parent.mkdir(parents=True, exist_ok=True)
    _zeroed_pages(isolated_store, real)
    run = layerscope("store", "stats")
    assert run.exit_code == 0, run.stderr
    assert "entries: 0" in run.stdout and run.stderr.count("layerscope: warning:") == 1
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr


_OPEN_AND_PUT = """
import hashlib, sys, time
from pathlib import Path
from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.store import MeasurementStore

class Warnings:
    def warning(self, message):
        print("WARNING", message, flush=True)

    def __getattr__(self, name):
        return lambda *args: None

while time.time() < float(sys.argv[3]):  # every process opens the new store at the same instant
    pass
store = MeasurementStore(Path(sys.argv[1]), Warnings())
digest = "sha256:" + hashlib.sha256(sys.argv[2].encode()).hexdigest()
store.put(LayerMeasurement(digest=digest, compressed_bytes=1, size_source=SizeSource.MEASURED, uncompressed_bytes=2))
store.close()
"""


def test_processes_creating_a_new_store_at_once_all_keep_their_results(tmp_path: Path) -> None:
    """Switching a new database to WAL fails at once with SQLITE_BUSY while another process does the same
    (no busy handler there). Once, that moved the other process's live store aside; then, it lost results."""
    import sys

    for round_ in range(12):
        path = tmp_path / f"round{round_}" / "m.sqlite3"
        start = time.time() + 0.4
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_AND_PUT, str(path), f"{round_}-{k}", str(start)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for k in range(6)
        ]
        outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
        assert all(p.returncode == 0 for p in procs), outputs
        assert "".join(outputs) == "", outputs
        assert _entries(path) == 6
        assert [p.name for p in path.parent.iterdir() if ".corrupt-" in p.name] == []
