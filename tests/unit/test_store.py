"""The measurement store: round trip, corrupt rows and files are misses, concurrent writers lose nothing."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.oci import Compression
from layerscope.store import MeasurementStore


class Recorder:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def image_started(self, reference: str) -> None: ...
    def layer_started(self, digest: str, size: int) -> None: ...
    def layer_progress(self, digest: str, nbytes: int) -> None: ...
    def layer_done(self, digest: str) -> None: ...


def _m(i: int, source: SizeSource = SizeSource.MEASURED) -> LayerMeasurement:
    digest = "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()
    return LayerMeasurement(
        digest=digest,
        compressed_bytes=100 + i,
        size_source=source,
        diff_id="sha256:" + hashlib.sha256(f"d{i}".encode()).hexdigest(),
        compression=Compression.GZIP,
        uncompressed_bytes=1000 + i,
        extracted_bytes=900 + i,
        files=i,
        dirs=1,
        symlinks=0,
        hardlinks=0,
        whiteouts=0,
        other_entries=0,
    )


def test_round_trip_marks_source_store(tmp_path: Path) -> None:
    s = MeasurementStore(tmp_path / "m.db")
    s.put(_m(1))
    got = s.get(_m(1).digest)
    assert got is not None and got.size_source is SizeSource.STORE
    assert got.uncompressed_bytes == 1001 and got.files == 1 and got.compression is Compression.GZIP
    assert s.get(_m(2).digest) is None
    s.close()
    # Survives reopening (it is on disk).
    assert MeasurementStore(tmp_path / "m.db").get(_m(1).digest) is not None


def test_estimates_are_never_stored(tmp_path: Path) -> None:
    s = MeasurementStore(tmp_path / "m.db")
    s.put(_m(3, SizeSource.GZIP_ISIZE))
    s.put(_m(4, SizeSource.CATALOG))
    assert s.stats()["entries"] == 0


def test_tampered_row_is_a_miss_with_one_warning(tmp_path: Path) -> None:
    rec = Recorder()
    s = MeasurementStore(tmp_path / "m.db", rec)
    s.put(_m(1))
    s.put(_m(2))
    s.close()
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("UPDATE layers SET record = replace(record, '1001', '9999') WHERE digest = ?", (_m(1).digest,))
    conn.execute("UPDATE layers SET schema = 99 WHERE digest = ?", (_m(2).digest,))
    conn.commit()
    conn.close()
    s = MeasurementStore(tmp_path / "m.db", rec)
    assert s.get(_m(1).digest) is None  # checksum fails: never a wrong number
    assert s.get(_m(2).digest) is None  # foreign schema
    assert len(rec.warnings) == 1


def test_corrupt_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    path.write_bytes(b"this is not a database at all" * 100)
    rec = Recorder()
    s = MeasurementStore(path, rec)
    assert s.get(_m(1).digest) is None
    s.put(_m(1))
    assert s.get(_m(1).digest) is not None
    assert rec.warnings and "moved aside" in rec.warnings[0]
    assert any(p.name.startswith("m.db.corrupt-") for p in tmp_path.iterdir())


_WRITER = """
import hashlib, sys
from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.store import MeasurementStore
from pathlib import Path
s = MeasurementStore(Path(sys.argv[1]))
start, count = int(sys.argv[2]), int(sys.argv[3])
for i in range(start, start + count):
    d = "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()
    s.put(LayerMeasurement(digest=d, compressed_bytes=i, size_source=SizeSource.MEASURED, uncompressed_bytes=i * 2))
print("done", flush=True)
"""


def test_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(k * 150), "200"], stdout=subprocess.PIPE)
        for k in range(4)
    ]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0 and b"done" in out
    s = MeasurementStore(path)
    # Ranges overlap on purpose (same digests written by two processes).
    assert s.stats()["entries"] == 3 * 150 + 200
    for i in (0, 149, 150, 449, 649):
        got = s.get("sha256:" + hashlib.sha256(str(i).encode()).hexdigest())
        assert got is not None and got.uncompressed_bytes == i * 2


def test_killed_writer_leaves_a_usable_store(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    p = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), "0", "100000"], stdout=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (path.exists() and path.stat().st_size > 8192):
        time.sleep(0.05)
    time.sleep(0.2)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    s = MeasurementStore(path)
    n = s.stats()["entries"]
    assert isinstance(n, int) and n > 0
    for i in range(min(n, 50)):
        got = s.get("sha256:" + hashlib.sha256(str(i).encode()).hexdigest())
        assert got is not None and got.compressed_bytes == i and got.uncompressed_bytes == i * 2


def test_contents_are_verified_on_write_and_read(tmp_path: Path) -> None:
    data = b'{"schemaVersion": 2}'
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    rec = Recorder()
    s = MeasurementStore(tmp_path / "m.db", rec)
    s.put_content("sha256:" + "0" * 64, data)  # does not hash to that digest: not kept
    assert s.get_content("sha256:" + "0" * 64) is None
    s.put_content(digest, data)
    assert s.get_content(digest) == data
    s.close()
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("UPDATE contents SET data = ? WHERE digest = ?", (b'{"schemaVersion": 3}', digest))
    conn.commit()
    conn.close()
    s = MeasurementStore(tmp_path / "m.db", rec)
    assert s.get_content(digest) is None
    assert rec.warnings and "digest check" in rec.warnings[-1]


def _corrupt_under(path: Path) -> None:
    """Corrupt the store file under an open store, the way another process's damage reaches it mid-run.

    A second connection checkpoints (so the file holds every page), the file is overwritten with garbage,
    and the second connection commits once more from pages it has cached: every other connection's page
    cache is then invalid, and its next statement reads the garbage (SQLITE_NOTADB).
    """
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        other.execute("INSERT OR REPLACE INTO contents VALUES ('a', x'00', 1)")
        with path.open("r+b") as f:
            f.write(os.urandom(path.stat().st_size))
        other.execute("INSERT OR REPLACE INTO contents VALUES ('b', x'00', 1)")
    finally:
        other.close()


def _write_after(start: threading.Barrier, store: MeasurementStore, numbers: range) -> None:
    start.wait()
    for i in numbers:
        store.put(_m(i))


def test_threads_writing_while_the_store_is_found_corrupt_lose_no_write(tmp_path: Path) -> None:
    # Issue #12 item 8a: one thread replacing a corrupt store must not make another's write vanish.
    for attempt in range(3):  # several rounds: the race needs threads queued on the lock at the right moment
        path = tmp_path / f"m{attempt}.db"
        rec = Recorder()
        s = MeasurementStore(path, rec)
        for i in range(200):
            s.put(_m(i))
        _corrupt_under(path)
        threads, per_thread = 8, 40
        start = threading.Barrier(threads)
        workers = [
            threading.Thread(
                target=_write_after, args=(start, s, range(1000 + k * per_thread, 1000 + (k + 1) * per_thread))
            )
            for k in range(threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        missing = [i for i in range(1000, 1000 + threads * per_thread) if s.get(_m(i).digest) is None]
        assert missing == [], f"{len(missing)} writes lost after the store was replaced; warnings: {rec.warnings}"
        assert len(rec.warnings) == 1 and "moved aside" in rec.warnings[0], rec.warnings
        assert s.stats()["entries"] == threads * per_thread
        s.close()


def test_stats_and_prune_read_their_results_under_the_lock(tmp_path: Path) -> None:
    s = MeasurementStore(tmp_path / "m.db")
    for i in range(50):
        s.put(_m(i))
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for i in range(200):
                s.put(_m(100 + i))
                assert s.stats()["entries"] >= 50
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert errors == []
    assert s.prune(-1) == 250 and s.stats()["entries"] == 0


def test_file_index_is_kept_beside_its_measurement_and_checked(tmp_path: Path) -> None:
    rec = Recorder()
    s = MeasurementStore(tmp_path / "m.db", rec)
    s.put(_m(1), b"index of layer 1")
    s.put(_m(2))  # measured without an index (an executor's, or a path the index cannot hold)
    assert s.get_index(_m(1).digest) == b"index of layer 1"
    assert s.get_index(_m(2).digest) is None and s.get(_m(2).digest) is not None
    s.close()
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("UPDATE file_indexes SET data = ? WHERE digest = ?", (b"index of layer X", _m(1).digest))
    conn.commit()
    conn.close()
    s = MeasurementStore(tmp_path / "m.db", rec)
    assert s.get_index(_m(1).digest) is None  # fails its sha256: never a wrong listing
    assert len(rec.warnings) == 1


def test_a_measurement_without_an_index_keeps_the_index_stored_for_its_digest(tmp_path: Path) -> None:
    # An executor's worker stores measurement and index in the shared store; the client then keeps the
    # checked measurement it got back (no index in hand): the worker's index must survive (#15, fleet path).
    s = MeasurementStore(tmp_path / "m.db")
    s.put(_m(1), b"index of layer 1")
    s.put(_m(1))
    assert s.get_index(_m(1).digest) == b"index of layer 1"
    assert s.index_checksums([_m(1).digest, _m(2).digest]) == {
        _m(1).digest: hashlib.sha256(b"index of layer 1").hexdigest()
    }
    s.put(_m(1), b"index of layer 1, format 2")  # a new index does replace the old
    assert s.get_index(_m(1).digest) == b"index of layer 1, format 2"


def test_rows_of_an_older_schema_are_a_silent_miss(tmp_path: Path) -> None:
    rec = Recorder()
    s = MeasurementStore(tmp_path / "m.db", rec)
    s.put(_m(1))
    s.close()
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("UPDATE layers SET schema = 1")  # before issue #15: no file index, pre-#12-item-7 counts
    conn.commit()
    conn.close()
    s = MeasurementStore(tmp_path / "m.db", rec)
    assert s.get(_m(1).digest) is None
    assert rec.warnings == []
