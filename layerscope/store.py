"""The measurement store: exact per-layer measurements kept across runs, keyed by layer digest.

SQLite (stdlib) in WAL mode: every write is one transaction, so a killed process leaves either the old
or the new row, and concurrent processes serialise on SQLite's lock instead of losing writes. Each row
carries the schema version and a sha256 of its record, and is used only for its own digest (and, by the
analysis, its own diff_id): a row that fails a check is a miss with one warning, never a wrong number.
A file that is not a healthy SQLite database (garbage, truncated, damaged pages) is moved aside to
`NAME.corrupt-TIME` with its WAL files — when opening, or when a query first finds the damage — and a
fresh store takes its place. A store that cannot be used otherwise (locked past the busy timeout, not
writable, another program's database) is left untouched: the run measures without it, with one warning.
Threads share one connection under one lock; each operation remembers which connection (generation) it
used, so when several threads hit the same corruption, one replaces the store and the others retry on the
fresh one — no write is dropped because another thread recovered first (issue #12).
Not to be confused with a node's image cache (DESIGN.md, "Words").

Each exact measurement has its layer's file index beside it (issue #15), in table `file_indexes`: the
zstd-compressed records of tarindex.py, with their format and a sha256, or NULL when the layer had none
(a path the index cannot encode, or a measurement made without one). Schema 2 (issue #15): rows of schema 1
were measured before the duplicate-path fix (issue #12 item 7) and have no index, so they are a silent miss
(measured again and replaced, no warning per layer); a row of a *newer* schema is a miss with one warning.
Table `image_contents` keeps each image's computed `contents` under the key of what determines it (the
sha256s of its layers' indexes, top, depth, a format version: contents_record.py), with a sha256 of the
record: a row that fails it is a miss (computed again and replaced), so a warm `analyze` decodes no index.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from layerscope.digest import verify_bytes
from layerscope.errors import ContentError, StoreError
from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.observer import NullObserver, Observer
from layerscope.tarindex import INDEX_FORMAT

__all__ = ["SCHEMA_VERSION", "MeasurementStore", "default_store_path"]

SCHEMA_VERSION = 2
_BUSY_TIMEOUT_MS = 30_000
# Errors that mean "this file is not a (healthy) SQLite database": such a store is moved aside and started
# afresh. Anything else (locked, read-only, a foreign database with its own `layers` table) is left alone.
_CORRUPT = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
#: Tries of one operation: the first, and retries after a corrupt store was replaced (by this or another thread).
_ATTEMPTS = 3
T = TypeVar("T")


def _one(cur: sqlite3.Cursor) -> Any:
    return cur.fetchone()


def _all(cur: sqlite3.Cursor) -> list[Any]:
    return cur.fetchall()


def _nothing(cur: sqlite3.Cursor) -> None:
    return None


def _is_corrupt(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _CORRUPT


def default_store_path() -> Path:
    """`$LAYERSCOPE_STORE`, else `$XDG_CACHE_HOME/layerscope/measurements.sqlite3` (~/.cache by default)."""
    explicit = os.environ.get("LAYERSCOPE_STORE")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "layerscope" / "measurements.sqlite3"


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Put the database in WAL mode (persistent: later connections find it set and change nothing).

    Switching the journal mode does not wait on the busy handler: two processes creating the same new
    store at once make one of them fail at once with SQLITE_BUSY. So: retry, bounded by the busy timeout.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _checksum(record: str) -> str:
    return hashlib.sha256(record.encode()).hexdigest()


def _sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


class MeasurementStore:
    """Thread-safe access to the on-disk store; `None` path means an in-memory store for one run."""

    def __init__(self, path: Path | None = None, observer: Observer | None = None) -> None:
        self.path = path
        self._observer = observer or NullObserver()
        self._lock = threading.Lock()
        self._warn_lock = threading.Lock()
        self._warned = False
        #: Bumped each time the connection is replaced (under _lock); see _recover.
        self._generation = 0
        self._inode: int | None = None
        self._conn = self._open()

    def _warn(self, message: str) -> None:
        with self._warn_lock:
            if self._warned:
                return
            self._warned = True
        self._observer.warning(message)

    def _connect(self, target: str) -> sqlite3.Connection:
        conn = sqlite3.connect(target, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        if target != ":memory:":
            _enable_wal(conn)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS layers (digest TEXT PRIMARY KEY, diff_id TEXT, schema INTEGER NOT NULL,"
            " record TEXT NOT NULL, checksum TEXT NOT NULL, stored_at REAL NOT NULL)"
        )
        conn.execute("CREATE INDEX IF NOT EXISTS layers_diff_id ON layers(diff_id)")
        # Manifests and configs by digest, so a digest-pinned re-analysis needs no request at all (issue 8).
        conn.execute(
            "CREATE TABLE IF NOT EXISTS contents (digest TEXT PRIMARY KEY, data BLOB NOT NULL, stored_at REAL NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS file_indexes (digest TEXT PRIMARY KEY, format INTEGER NOT NULL, data BLOB,"
            " checksum TEXT, stored_at REAL NOT NULL)"
        )
        # Each image's computed `contents`, under the key of what determines it (contents_record.py).
        conn.execute(
            "CREATE TABLE IF NOT EXISTS image_contents (key TEXT PRIMARY KEY, record TEXT NOT NULL,"
            " checksum TEXT NOT NULL, stored_at REAL NOT NULL)"
        )
        return conn

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            return self._connect(":memory:")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the measurement store directory {self.path.parent}: {exc.strerror}"
            ) from None
        try:
            return self._connect_file()
        except sqlite3.DatabaseError as exc:
            if _is_corrupt(exc):
                # Not a database (truncated, overwritten, garbage): keep it for inspection, start afresh.
                aside = self._move_aside()
                self._warn(f"measurement store {self.path} is unreadable ({exc}); moved aside to {aside}")
                try:
                    return self._connect_file()
                except (OSError, sqlite3.DatabaseError):
                    pass
            else:
                # Locked for longer than the busy timeout, not writable, or another program's database:
                # not ours to move; measure without it.
                self._warn(f"measurement store {self.path} cannot be used ({exc}); results are not kept this run")
            return self._connect(":memory:")

    def _connect_file(self) -> sqlite3.Connection:
        assert self.path is not None
        conn = self._connect(str(self.path))
        try:
            self._inode = os.stat(self.path).st_ino
        except OSError:
            self._inode = None
        return conn

    def _move_aside(self) -> str:
        """Rename the store (and its WAL files, which belong to it) to `NAME.corrupt-TIME`; the new name."""
        assert self.path is not None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            try:
                os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
            except FileNotFoundError:
                pass
            except OSError:
                if not suffix:
                    return "nowhere (it could not be renamed)"
        return aside.name

    def _recover(self, exc: sqlite3.Error, generation: int) -> bool:
        """After *exc* on connection *generation*: True when the caller should retry on a fresh connection.

        A store found corrupt while in use is moved aside and replaced by a fresh one. When another thread
        replaced the connection since the caller used it, the caller just retries (its error came from the
        old file). Called with _lock held, so the check and the replacement are one step.
        """
        if self._generation != generation:
            return True
        if self.path is None or not _is_corrupt(exc):
            return False
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        try:
            # Another process may have replaced it already: then only reconnect.
            same = os.stat(self.path).st_ino == self._inode
        except OSError:
            same = False
        aside = self._move_aside() if same else "by another process"
        try:
            self._conn = self._connect_file()
        except (OSError, sqlite3.DatabaseError):
            self._conn = self._connect(":memory:")
        self._generation += 1
        self._warn(f"measurement store {self.path} is corrupt ({exc}); moved aside {aside}, starting afresh")
        return True

    def _run(self, sql: str, args: tuple[object, ...], fetch: Callable[[sqlite3.Cursor], T]) -> T:
        """Execute *sql* and *fetch* its result under the lock; a corrupt store is replaced and it is retried.

        Raises sqlite3.DatabaseError when the store cannot be used (callers decide: miss, warning, error).
        """
        for _ in range(_ATTEMPTS):
            with self._lock:
                generation = self._generation
                try:
                    return fetch(self._conn.execute(sql, args))
                except sqlite3.DatabaseError as exc:
                    if not self._recover(exc, generation):
                        raise
        raise sqlite3.DatabaseError(f"the store was replaced {_ATTEMPTS} times during one operation")

    def get(self, digest: str) -> LayerMeasurement | None:
        """The stored measurement of *digest* (size_source `store`), or None."""
        try:
            row = self._run("SELECT schema, record, checksum FROM layers WHERE digest = ?", (digest,), _one)
        except sqlite3.DatabaseError as exc:
            self._warn(f"measurement store read failed ({exc}); measuring instead")
            return None
        if row is None:
            return None
        schema, record, checksum = row
        if isinstance(schema, int) and schema < SCHEMA_VERSION:
            return None  # an older layerscope's row (no file index): measured again and replaced, silently
        if schema != SCHEMA_VERSION or not isinstance(record, str) or _checksum(record) != checksum:
            self._warn(f"ignoring a stored measurement of {digest[:19]}… that fails its checks")
            return None
        try:
            m = LayerMeasurement.from_dict(json.loads(record))
        except (ValueError, TypeError, KeyError):
            self._warn(f"ignoring a malformed stored measurement of {digest[:19]}…")
            return None
        if m.digest != digest or not m.exact:
            return None
        return replace(m, size_source=SizeSource.STORE)

    def put(self, m: LayerMeasurement, file_index: bytes | None = None) -> None:
        """Keep an exact measurement (with its layer's file index, if any); estimates are never stored."""
        if not m.exact:
            return
        # The index first: a process killed between the two writes leaves an index without a measurement
        # (a miss, measured again), never a measurement whose index is missing.
        # Without an index (an executor's result, measured by a worker that stored the index itself in this
        # same store), an index already kept for the digest stays: it describes the same bytes.
        verb = "INSERT OR REPLACE" if file_index is not None else "INSERT OR IGNORE"
        index_row = (m.digest, INDEX_FORMAT, file_index, _sha256(file_index), time.time())
        try:
            self._run(
                f"{verb} INTO file_indexes (digest, format, data, checksum, stored_at) VALUES (?, ?, ?, ?, ?)",
                index_row,
                _nothing,
            )
        except sqlite3.DatabaseError as exc:
            self._warn(f"measurement store write failed ({exc}); results are not kept")
            return
        record = json.dumps(replace(m, size_source=SizeSource.MEASURED).to_dict(), sort_keys=True)
        row = (m.digest, m.diff_id, SCHEMA_VERSION, record, _checksum(record), time.time())
        try:
            self._run(
                "INSERT OR REPLACE INTO layers (digest, diff_id, schema, record, checksum, stored_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                row,
                _nothing,
            )
        except sqlite3.DatabaseError as exc:
            self._warn(f"measurement store write failed ({exc}); results are not kept")

    def get_index(self, digest: str) -> bytes | None:
        """The stored file index of layer *digest* (checked against its sha256), or None when there is none."""
        try:
            row = self._run("SELECT format, data, checksum FROM file_indexes WHERE digest = ?", (digest,), _one)
        except sqlite3.DatabaseError as exc:
            self._warn(f"measurement store read failed ({exc}); file index not available")
            return None
        if row is None or row[1] is None:
            return None
        fmt, data, checksum = row
        if fmt != INDEX_FORMAT or not isinstance(data, bytes) or _sha256(data) != checksum:
            self._warn(f"ignoring a stored file index of {digest[:19]}… that fails its checks")
            return None
        return data

    def index_checksums(self, digests: Sequence[str]) -> dict[str, str]:
        """The sha256 each of *digests* has its file index stored with (layers without an index are absent).

        Reads no index: what `contents` is cached under (contents_record.py), in one query.
        """
        wanted = sorted(set(digests))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        try:
            rows = self._run(
                f"SELECT digest, checksum FROM file_indexes WHERE digest IN ({marks}) AND format = ?"
                " AND data IS NOT NULL",
                (*wanted, INDEX_FORMAT),
                _all,
            )
        except sqlite3.DatabaseError as exc:
            self._warn(f"measurement store read failed ({exc}); file index not available")
            return {}
        return {d: c for d, c in rows if isinstance(d, str) and isinstance(c, str)}

    def get_image_contents(self, key: str) -> dict[str, Any] | None:
        """The contents record stored under *key* (checked against its sha256), or None."""
        try:
            row = self._run("SELECT record, checksum FROM image_contents WHERE key = ?", (key,), _one)
        except sqlite3.DatabaseError as exc:
            self._warn(f"measurement store read failed ({exc}); computing contents instead")
            return None
        if row is None:
            return None
        record, checksum = row
        if not isinstance(record, str) or _checksum(record) != checksum:
            self._warn(f"ignoring stored contents {key[:12]}… that fail their checks")
            return None
        try:
            doc = json.loads(record)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            self._warn(f"ignoring malformed stored contents {key[:12]}…")
            return None
        return doc

    def put_image_contents(self, key: str, record: Mapping[str, Any]) -> None:
        """Keep an image's contents record under *key*."""
        text = json.dumps(record, sort_keys=True, separators=(",", ":"))
        try:
            self._run(
                "INSERT OR REPLACE INTO image_contents (key, record, checksum, stored_at) VALUES (?, ?, ?, ?)",
                (key, text, _checksum(text), time.time()),
                _nothing,
            )
        except sqlite3.DatabaseError as exc:
            self._warn(f"measurement store write failed ({exc}); results are not kept")

    def get_content(self, digest: str) -> bytes | None:
        """A stored manifest or config, re-verified against its digest (a mismatch is a miss), or None."""
        try:
            row = self._run("SELECT data FROM contents WHERE digest = ?", (digest,), _one)
        except sqlite3.DatabaseError as exc:
            self._warn(f"measurement store read failed ({exc}); fetching instead")
            return None
        if row is None or not isinstance(row[0], bytes):
            return None
        data: bytes = row[0]
        try:
            verify_bytes(data, digest, None, what="stored content")
        except ContentError:
            self._warn(f"ignoring stored content {digest[:19]}… that fails its digest check")
            return None
        return data

    def put_content(self, digest: str, data: bytes) -> None:
        """Keep a small content-addressed document (manifest or config) that hashes to *digest*."""
        try:
            verify_bytes(data, digest, None, what="content")
        except ContentError:
            return
        try:
            self._run(
                "INSERT OR REPLACE INTO contents (digest, data, stored_at) VALUES (?, ?, ?)",
                (digest, data, time.time()),
                _nothing,
            )
        except sqlite3.DatabaseError as exc:
            self._warn(f"measurement store write failed ({exc}); results are not kept")

    def _query(self, sql: str, *args: object, fetch: Callable[[sqlite3.Cursor], T]) -> T:
        """Run *sql* for stats/prune (result read under the lock); failures other than corruption: StoreError."""
        try:
            return self._run(sql, args, fetch)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"measurement store {self.path}: {exc}") from None

    def stats(self) -> dict[str, int | str | None]:
        """Entry count and file size, for `layerscope store stats`."""
        (count,) = self._query("SELECT COUNT(*) FROM layers", fetch=_one)
        size = self.path.stat().st_size if self.path and self.path.exists() else None
        return {"path": str(self.path) if self.path else None, "entries": int(count), "file_bytes": size}

    def prune(self, older_than_seconds: float) -> int:
        """Delete entries stored more than *older_than_seconds* ago; return how many."""
        cutoff = time.time() - older_than_seconds
        removed = self._query("DELETE FROM layers WHERE stored_at < ?", cutoff, fetch=lambda cur: int(cur.rowcount))
        self._query("DELETE FROM contents WHERE stored_at < ?", cutoff, fetch=_nothing)
        self._query("DELETE FROM image_contents WHERE stored_at < ?", cutoff, fetch=_nothing)
        self._query("DELETE FROM file_indexes WHERE digest NOT IN (SELECT digest FROM layers)", fetch=_nothing)
        self._query("PRAGMA wal_checkpoint(TRUNCATE)", fetch=_all)
        return removed

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()
