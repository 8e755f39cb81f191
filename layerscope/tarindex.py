"""What a tar walk remembers per path: the last entry at each path, and the layer's file index (issue #15).

One rule for both, the one extraction follows (containerd and moby remove an existing path before writing an
entry, unless both are directories): the *last* entry at a path wins. Paths compare after `clean_path`.

- `PathTable` keeps each path as a 64-bit fingerprint with its last entry's kind and size, so the walker's
  counts follow the last entry (issue #12 item 7; the figures are in tarwalk.py's docstring).
- `IndexWriter` writes one record per entry, in tar order, into a zstd stream compressed in batches as the
  walk goes: memory is the compressed index plus one batch, never a list of paths. Reading it back
  (`read_index`) applies the same last-wins rule. The encoding: records of three NUL-terminated fields,
  `KIND SIZE`, the cleaned path, the hard-link target (empty for other kinds); KIND is one letter of
  `KIND_CODES`. Tar paths cannot hold NUL (ustar strings end at NUL); a pax path holding one makes the
  index unusable (`finish` returns None) rather than wrong.
"""

from __future__ import annotations

import posixpath
from array import array
from typing import NamedTuple

import zstandard

__all__ = [
    "INDEX_FORMAT",
    "KIND_CODES",
    "FileEntry",
    "IndexWriter",
    "PathTable",
    "clean_path",
    "path_key",
    "read_index",
]

#: Bumped when the record encoding changes; the store keeps it beside each index.
INDEX_FORMAT = 1

# Entry kinds, as the walker counts them (PathTable values are `size * 8 + kind`).
K_FILE, K_DIR, K_SYM, K_LINK, K_WHITEOUT, K_OTHER, K_OPAQUE = range(7)
#: Index letter of each kind: file, dir, symlink, hard link, whiteout `.wh.NAME`, other (device, FIFO),
#: opaque marker `.wh..wh..opq` (counted as a whiteout by the walker).
KIND_CODES = {K_FILE: "f", K_DIR: "d", K_SYM: "l", K_LINK: "h", K_WHITEOUT: "w", K_OTHER: "x", K_OPAQUE: "o"}
_CODE_INTS = tuple(ord(KIND_CODES[k]) for k in range(len(KIND_CODES)))
_DOT_OR_SLASH = (b".", b"/")
#: Uncompressed record bytes gathered before they are handed to the compressor (fewer calls, same output).
_BATCH = 1 << 18


def clean_path(name: bytes) -> bytes:
    """*name* with `./`, leading and trailing `/`, `//`, `.` and `..` segments resolved (b"" for the root)."""
    if name.endswith(b"/"):  # every directory entry: stripping is all it needs, normpath is 10x slower
        name = name.rstrip(b"/")
    if b"//" in name or b"/." in name or name[:1] in _DOT_OR_SLASH:
        name = posixpath.normpath(b"/" + name).lstrip(b"/")
    return name


def path_key(clean: bytes) -> int:
    """The 64-bit fingerprint of a cleaned path (never 0: 0 marks an empty slot)."""
    return hash(clean) or 1


class PathTable:
    """Path fingerprint → `size * 8 + kind` of the last entry at that path: open addressing, linear probing.

    Two int64 arrays instead of a dict: 16 bytes a slot against ~100 bytes a dict entry of int objects.
    It starts at 32,768 slots (512 KiB), enough for a typical app layer's ~20,000 paths without a resize.
    """

    __slots__ = ("_keys", "_mask", "_used", "_values")

    def __init__(self, capacity: int = 1 << 15) -> None:
        self._mask = capacity - 1
        self._keys = array("q", (0,)) * capacity  # 0 marks an empty slot
        self._values = array("q", (0,)) * capacity
        self._used = 0

    def swap(self, key: int, value: int) -> int | None:
        """Store *value* for *key* (non-zero); return the value it replaces, or None for a new key."""
        keys, mask = self._keys, self._mask
        i = key & mask
        while True:
            k = keys[i]
            if k == key:
                old = self._values[i]
                self._values[i] = value
                return old
            if k == 0:
                keys[i] = key
                self._values[i] = value
                self._used += 1
                if self._used * 3 > mask * 2:
                    self._grow()
                return None
            i = (i + 1) & mask

    def _grow(self) -> None:
        keys, values = self._keys, self._values
        capacity = 2 * (self._mask + 1)
        self._mask = capacity - 1
        self._keys = array("q", (0,)) * capacity
        self._values = array("q", (0,)) * capacity
        self._used = 0
        for k, v in zip(keys, values, strict=True):
            if k:
                self.swap(k, v)

    def __len__(self) -> int:
        return self._used


class IndexWriter:
    """The file index of one layer, written as the walk goes (see the module docstring)."""

    __slots__ = ("_batch", "_broken", "_compressor", "_out")

    def __init__(self) -> None:
        # Level 1: the index costs the walk ~1 µs an entry; higher levels save little on sorted-ish paths.
        self._compressor = zstandard.ZstdCompressor(level=1).compressobj()
        self._batch = bytearray()
        self._out = bytearray()
        self._broken = False

    def add(self, kind: int, size: int, path: bytes, link: bytes = b"") -> None:
        """Record the entry at cleaned *path* (the root itself, b"", is not a file and is left out)."""
        if not path:
            return
        if b"\x00" in path or b"\x00" in link:
            self._broken = True
            return
        batch = self._batch
        batch += b"%c%d\x00%s\x00%s\x00" % (_CODE_INTS[kind], size, path, link)
        if len(batch) >= _BATCH:
            self._out += self._compressor.compress(batch)
            batch.clear()

    def finish(self) -> bytes | None:
        """The compressed index (None when a path could not be encoded)."""
        self._out += self._compressor.compress(self._batch)
        self._batch.clear()
        self._out += self._compressor.flush()
        return None if self._broken else bytes(self._out)


class FileEntry(NamedTuple):
    """The last entry at one path of a layer: `kind` is a letter of KIND_CODES, `link` a hard link's target.

    Immutable like the package's frozen dataclasses, but a tuple: `read_index` makes one per path (200,000
    for a Windows base layer) and a tuple is built ~3x faster than a frozen dataclass (issue #15, speed).
    """

    kind: str
    size: int
    link: str = ""


def read_index(data: bytes) -> dict[str, FileEntry]:
    """Path → last entry, from an index `IndexWriter.finish` made; ValueError when it is malformed."""
    try:
        raw = zstandard.ZstdDecompressor().decompressobj().decompress(data)
    except zstandard.ZstdError as exc:
        raise ValueError(f"file index does not decompress: {exc}") from None
    fields = raw.split(b"\x00")
    if fields.pop() != b"" or len(fields) % 3:
        raise ValueError("file index records are malformed")
    out: dict[str, FileEntry] = {}
    codes = frozenset(_CODE_INTS)
    make = FileEntry._make
    for head, path, link in zip(fields[0::3], fields[1::3], fields[2::3], strict=True):
        if not head or head[0] not in codes or not head[1:].isdigit() or not path:
            raise ValueError("file index records are malformed")
        name = path.decode("utf-8", "surrogateescape")
        out.pop(name, None)  # last wins, and keeps tar order of the survivors
        out[name] = make((chr(head[0]), int(head[1:]), link.decode("utf-8", "surrogateescape") if link else ""))
    return out
