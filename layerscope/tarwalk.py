"""A push-style tar walker: feed a tar stream in pieces of any size, get entry counts and extracted bytes.

Only the 512-byte header blocks (and the small pax / GNU long-name records) are looked at; file data is
skipped by arithmetic, so memory stays constant and the cost is per entry, not per byte.

Formats (every header must pass its checksum, unsigned or historic signed):

- POSIX ustar and pax, IEEE Std 1003.1-2017 `pax`, "ustar Interchange Format" and "pax Interchange Format":
  `prefix` + `name`; `x` extended headers override `path` and `size` of the next entry; `g` global headers
  apply to every later entry unless overridden; an empty value deletes a key.
  https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html
- GNU tar (https://www.gnu.org/software/tar/manual/html_node/Standard.html): `L` / `K` long names,
  base-256 numeric fields (high bit of the first byte set), old-style sparse files (`S`, with extension
  blocks) and the pax sparse formats 0.0 / 0.1 / 1.0 (`GNU.sparse.*` keys). A sparse file counts its
  *logical* size (what extraction writes to disk, holes included) as extracted bytes.
- star's 131-byte prefix (`tar\\0` at offset 508).

Where the formats leave room, the walker does what Go's archive/tar does — the reader containerd and
moby use to apply layers, so what a node can extract:

- Hard links, symlinks, directories, character/block devices and FIFOs carry no data whatever their size
  field says; every other type (including unknown ones) is followed by `size` bytes of data.
- A `\\0`-type entry whose name ends in `/` is a directory (pre-POSIX tar).
- The archive ends at two zero blocks; whatever follows is not parsed. End of input right after a header
  boundary — after one zero block, or with no trailer at all (also an empty stream) — is a clean end,
  as for GNU tar and Go. A zero block followed by a non-zero block, end of input inside a header or
  file data, and an extension header with no entry after it are errors.

Duplicated paths (issue #12 item 7): a tar may hold one path several times (`tar -r`, `--append`, some
layer builders). Extraction keeps what the *last* entry leaves — containerd and moby remove an existing
path before writing an entry unless both are directories — so counts and extracted bytes follow the last
entry at each path: a file written twice counts once with its last size, and a later directory, symlink or
hard link replaces an earlier file. Paths compare after cleaning (`./`, leading and trailing `/`, `//`,
`.` and `..` segments). The walker remembers each path as a 64-bit fingerprint (Python's keyed SipHash of
the cleaned path) and its last entry's kind and size in `PathTable` (tarindex.py): 16 bytes a slot, the table doubling
at 2/3 load, so 24–48 bytes per distinct path and 1.5x that while it grows — 8 MB for a 200,000-file
Windows base layer, 32 MB (48 MB peak) at a million paths (measured: ~50 MiB more peak RSS and ~2 µs more
per entry with a million distinct paths), bounded by `max_entries`. Limits, documented in README: two paths whose
fingerprints collide count as one (probability ~n²/2⁶⁵, about 3·10⁻⁸ for a million paths); a
non-directory that replaces a directory leaves the entries below it counted (extraction removes them); a
hard link to a file that is written again later counts 0 bytes (on disk it keeps the earlier data); paths
compare case-sensitively (Windows layers extract to a case-insensitive file system).

File index (issue #15): with `index=True` the walker also writes one record per entry (cleaned path, kind,
extracted size, hard-link target from the ustar linkname, a pax `linkpath` or a GNU `K` record) into a
zstd stream as it goes (tarindex.py), returned as `TarStats.file_index`: the same pass, the same last-wins
rule, memory the compressed index (~8–30 bytes a file) and one 256 KiB batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from zlib import adler32

from layerscope.errors import CorruptLayerError
from layerscope.tarheader import (
    BLOCK,
    DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_HEADER_BYTES,
    HIGH_BYTES,
    MAX_INT64,
    USTAR_MAGIC,
    ZERO_BLOCK,
    cstring,
    merge_pax,
    number,
    padded,
    parse_pax,
)
from layerscope.tarindex import (
    K_DIR,
    K_FILE,
    K_LINK,
    K_OPAQUE,
    K_OTHER,
    K_SYM,
    K_WHITEOUT,
    IndexWriter,
    PathTable,
    clean_path,
    path_key,
)

__all__ = ["DEFAULT_MAX_ENTRIES", "DEFAULT_MAX_HEADER_BYTES", "TarStats", "TarWalker"]

# Typeflags, as ints (a bytes object indexes to ints).
_REG, _AREG, _CONT = ord("0"), 0, ord("7")
_LNK, _SYM, _CHR, _BLK, _DIR, _FIFO = (ord(c) for c in "123456")
_PAX, _PAX_GLOBAL = ord("x"), ord("g")
_GNU_LONGNAME, _GNU_LONGLINK, _GNU_SPARSE = ord("L"), ord("K"), ord("S")
_REGULAR = frozenset((_REG, _AREG, _CONT, _GNU_SPARSE))
# Types Go's archive/tar reads no data for (isHeaderOnlyType), whatever the size field says.
_HEADER_ONLY = frozenset((_LNK, _SYM, _CHR, _BLK, _DIR, _FIFO))

# Walker modes: what the next `_need` bytes are.
_HEADER, _CAPTURE, _SPARSE_EXT, _ZERO, _END = range(5)


@dataclass(frozen=True, slots=True)
class TarStats:
    """What a tar stream holds; `windows_*` are None unless it has top-level `Files/` and `Hives/`."""

    files: int
    dirs: int
    symlinks: int
    hardlinks: int
    whiteouts: int
    other_entries: int
    extracted_bytes: int
    windows_files_bytes: int | None
    windows_hives_bytes: int | None
    #: The layer's file index (tarindex.py) when the walker was asked for one and could encode every path.
    file_index: bytes | None = None


class TarWalker:
    """Counts a tar stream fed in pieces; raises CorruptLayerError for anything that is not valid tar."""

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        index: bool = False,
    ) -> None:
        self._max_entries = max_entries
        self._max_header_bytes = max_header_bytes
        self._mode = _HEADER
        self._need = BLOCK
        self._buf = bytearray()
        self._skip = 0
        self._fed = 0
        self._offset = 0  # stream offset of the block / record being dispatched, for messages
        self._headers = 0
        # Extension state for the next entry (pax `x`, GNU `L`/`K`) and the pax globals (`g`).
        self._pending = False
        self._pax: dict[bytes, bytes] | None = None
        self._long_name: bytes | None = None
        self._long_link: bytes | None = None
        self._globals: dict[bytes, bytes] = {}
        self._capture_type = 0
        self._capture_size = 0
        self._sparse_skip = 0
        # Old GNU sparse map of the current entry, checked as it streams by (Go: validateSparseEntries):
        # fragments in order, not overlapping, inside the logical size, adding up to the stored data.
        self._sparse_realsize = self._sparse_end = self._sparse_data = self._sparse_stored = 0
        self._sparse_blocks = 0
        self.files = self.dirs = self.symlinks = self.hardlinks = self.whiteouts = self.other_entries = 0
        self.extracted_bytes = 0
        self._files_bytes = self._hives_bytes = 0
        self._saw_files = self._saw_hives = False
        self._paths = PathTable()
        #: With *index*: one record per entry, in the same pass (issue #15: no second read, no extraction).
        self._index = IndexWriter() if index else None

    @property
    def headers(self) -> int:
        """Tar headers parsed so far (members and extension headers)."""
        return self._headers

    # -- feeding ------------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Walk the next piece of the tar stream."""
        if not isinstance(data, bytes):
            data = bytes(data)
        n = len(data)
        base = self._fed
        self._fed = base + n
        pos = 0
        buf = self._buf
        while pos < n:
            skip = self._skip
            if skip:
                if skip >= n - pos:
                    self._skip = skip - (n - pos)
                    return
                pos += skip
                self._skip = 0
            if self._mode == _END:
                return
            need = self._need
            if buf:
                take = min(need - len(buf), n - pos)
                buf += data[pos : pos + take]
                pos += take
                if len(buf) < need:
                    return
                piece = bytes(buf)
                buf.clear()
            elif n - pos >= need:
                piece = data[pos : pos + need]
                pos += need
            else:
                buf += data[pos:]
                return
            self._offset = base + pos - need
            self._dispatch(piece)

    def finish(self) -> TarStats:
        """End of the stream: the counts, or CorruptLayerError if the tar stopped mid-way."""
        if self._mode != _END:
            if self._skip or self._buf or self._mode in (_CAPTURE, _SPARSE_EXT):
                raise self._error(f"tar stream is truncated (ends {self._fed} bytes in, inside an entry)", at=False)
            if self._pending:
                raise self._error("tar stream ends after an extension header, before its entry", at=False)
        windows = self._saw_files and self._saw_hives
        return TarStats(
            files=self.files,
            dirs=self.dirs,
            symlinks=self.symlinks,
            hardlinks=self.hardlinks,
            whiteouts=self.whiteouts,
            other_entries=self.other_entries,
            extracted_bytes=self.extracted_bytes,
            windows_files_bytes=self._files_bytes if windows else None,
            windows_hives_bytes=self._hives_bytes if windows else None,
            file_index=None if self._index is None else self._index.finish(),
        )

    # -- blocks -------------------------------------------------------------------------------------

    def _dispatch(self, piece: bytes) -> None:
        mode = self._mode
        if mode == _HEADER:
            self._header(piece)
        elif mode == _CAPTURE:
            self._captured(piece)
        elif mode == _SPARSE_EXT:
            # GNU old sparse extension block: 21 (offset, numbytes) pairs, then `isextended` at 504.
            self._sparse_blocks += 1
            if self._sparse_blocks * BLOCK > self._max_header_bytes:
                raise self._error(
                    f"tar GNU sparse map exceeds the {self._max_header_bytes}-byte limit",
                    hint="raise Limits.max_header_bytes if this layer is legitimate",
                )
            self._sparse_entries(piece[:504])
            if not piece[504]:
                self._sparse_finish()
                self._mode, self._need, self._skip = _HEADER, BLOCK, self._sparse_skip
        elif piece == ZERO_BLOCK:  # _ZERO: the second block of the end-of-archive marker
            self._mode = _END
        else:
            raise self._error("tar has a lone zero block followed by more headers")

    def _header(self, block: bytes) -> None:
        if block == ZERO_BLOCK:
            if self._pending:
                raise self._error("tar extension header is followed by the end-of-archive marker")
            self._mode = _ZERO
            return
        self._check_checksum(block)
        self._headers += 1
        if self._headers > self._max_entries:
            raise self._error(
                f"tar has more than {self._max_entries} headers",
                hint="a layer this large is unusual; raise Limits.max_entries if it is legitimate",
            )
        flag = block[156]
        size = number(block[124:136])
        if size is None:
            raise self._error("tar header has an invalid size field")
        if flag in (_PAX, _PAX_GLOBAL, _GNU_LONGNAME, _GNU_LONGLINK):
            if size > self._max_header_bytes:
                raise self._error(
                    f"tar extension header of {size} bytes exceeds the {self._max_header_bytes}-byte limit",
                    hint="raise Limits.max_header_bytes if this layer is legitimate",
                )
            if flag != _PAX_GLOBAL:
                self._pending = True
            if size:
                self._mode, self._need = _CAPTURE, size
                self._capture_type, self._capture_size = flag, size
            else:
                self._captured(b"", flag=flag)
            return
        self._member(block, flag, size)

    def _captured(self, data: bytes, *, flag: int | None = None) -> None:
        if flag is None:
            flag = self._capture_type
            self._mode, self._need = _HEADER, BLOCK
            self._skip = padded(self._capture_size) - self._capture_size
        if flag == _GNU_LONGNAME:
            self._long_name = cstring(data)
            return
        if flag == _GNU_LONGLINK:  # a hard link's target, for the file index
            self._long_link = cstring(data)
            return
        records = parse_pax(data)
        if records is None:
            raise self._error("tar pax extended header has a malformed record")
        if flag == _PAX_GLOBAL:
            merge_pax(self._globals, records)
        else:
            if self._pax is None:
                self._pax = {}
            # An empty value in an `x` header deletes the global value for this entry: keep it as b""
            # here and drop it when the two are merged.
            self._pax.update(records)

    def _member(self, block: bytes, flag: int, size: int) -> None:
        name = self._long_name
        if name is None:
            name = cstring(block[:100])
            if block[257:263] == USTAR_MAGIC:  # POSIX ustar / pax (and star): the name has a prefix
                prefix = cstring(block[345:476] if block[508:512] == b"tar\x00" else block[345:500])
                if prefix:
                    name = prefix + b"/" + name
        realsize = None
        pax = self._pax
        if self._globals:
            merged = dict(self._globals)
            merge_pax(merged, pax or {})
            pax = merged
        elif pax:
            pax = {k: v for k, v in pax.items() if v}
        if pax:
            if b"path" in pax:
                name = pax[b"path"]
            if b"size" in pax:
                size = self._decimal(pax[b"size"], "size")
            # pax sparse formats (GNU tar manual, "Storing Sparse Files"): 1.0 keeps the logical size in
            # GNU.sparse.realsize, 0.0 / 0.1 in GNU.sparse.size; the real name is GNU.sparse.name.
            if b"GNU.sparse.realsize" in pax:
                realsize = self._decimal(pax[b"GNU.sparse.realsize"], "GNU.sparse.realsize")
            elif b"GNU.sparse.size" in pax:
                realsize = self._decimal(pax[b"GNU.sparse.size"], "GNU.sparse.size")
            if b"GNU.sparse.name" in pax:
                name = pax[b"GNU.sparse.name"]
        self._pax = None
        self._long_name = None
        long_link, self._long_link = self._long_link, None
        self._pending = False

        if flag == _AREG and name.endswith(b"/"):
            flag = _DIR
        skip = 0 if flag in _HEADER_ONLY else padded(size)
        if flag == _GNU_SPARSE:
            realsize = number(block[483:495])
            if realsize is None:
                raise self._error("tar GNU sparse header has an invalid realsize field")
            self._sparse_realsize, self._sparse_stored = realsize, size
            self._sparse_end = self._sparse_data = self._sparse_blocks = 0
            self._sparse_entries(block[386:482])
            if block[482]:  # isextended: extension blocks come before the data
                self._mode, self._need, self._sparse_skip = _SPARSE_EXT, BLOCK, skip
                skip = 0
            else:
                self._sparse_finish()
        self._skip = skip

        # Classify by path: strip "./" and "/" so that "./Files/x" and "Files/x" are the same entry.
        while name.startswith(b"./"):
            name = name[2:]
        name = name.lstrip(b"/")
        top = name.partition(b"/")[0]
        if top == b"Files":
            self._saw_files = True
        elif top == b"Hives":
            self._saw_hives = True
        # OCI image-spec layer.md "Whiteouts": a basename starting with .wh. (including the opaque marker
        # .wh..wh..opq) deletes something in a lower layer; it is not a file and extracts to nothing.
        extracted = 0
        base = name.rstrip(b"/").rpartition(b"/")[2]
        if base.startswith(b".wh."):
            kind = K_OPAQUE if base == b".wh..wh..opq" else K_WHITEOUT
        elif flag in _REGULAR:
            kind = K_FILE
            extracted = size if realsize is None else realsize
        elif flag == _DIR:
            kind = K_DIR
        elif flag == _SYM:
            kind = K_SYM
        elif flag == _LNK:
            kind = K_LINK
        else:
            kind = K_OTHER
        clean = clean_path(name)
        index = self._index
        if index is not None:
            link = b""
            if kind == K_LINK:
                link = clean_path(long_link or (pax or {}).get(b"linkpath") or cstring(block[157:257]))
            index.add(kind, extracted, clean, link)
        previous = self._paths.swap(path_key(clean), extracted * 8 + kind)
        if previous is not None:  # the path was written before: extraction keeps only this entry
            self._count(previous & 7, previous >> 3, top, -1)
        self._count(kind, extracted, top, 1)

    def _count(self, kind: int, extracted: int, top: bytes, sign: int) -> None:
        """Add (sign 1) or take back (sign -1) one entry of *kind* and its extracted bytes."""
        if kind == K_FILE:
            self.files += sign
            self.extracted_bytes += sign * extracted
            if top == b"Files":
                self._files_bytes += sign * extracted
            elif top == b"Hives":
                self._hives_bytes += sign * extracted
        elif kind == K_DIR:
            self.dirs += sign
        elif kind == K_SYM:
            self.symlinks += sign
        elif kind == K_LINK:
            self.hardlinks += sign
        elif kind in (K_WHITEOUT, K_OPAQUE):
            self.whiteouts += sign
        else:
            self.other_entries += sign

    # -- helpers ------------------------------------------------------------------------------------

    def _check_checksum(self, block: bytes) -> None:
        field = block[148:156]
        # The checksum is the sum of the header bytes with the checksum field taken as eight spaces.
        # Summed by zlib.adler32, whose low half is 1 + the byte sum mod 65521 — exact for up to 256
        # bytes (256 × 255 < 65521), so two halves — five times faster than sum() on a block, which
        # matters for layers of millions of tiny entries.
        unsigned = (adler32(block[:256]) & 0xFFFF) + (adler32(block[256:]) & 0xFFFF) - 2 - sum(field) + 8 * 0x20
        if field == b"%06o\x00 " % unsigned:
            return  # as Go, GNU tar, Docker and Python's tarfile write it: six digits, NUL, space (no parsing)
        stored = number(field)
        if stored == unsigned:
            return
        # Historic tars summed signed chars; GNU tar, Go and Python's tarfile accept both.
        high = (BLOCK - len(block.translate(None, HIGH_BYTES))) - (8 - len(field.translate(None, HIGH_BYTES)))
        if stored != unsigned - 256 * high:
            raise self._error(
                "tar header checksum does not match" if stored is not None else "tar header is not valid",
                hint="the layer is not a valid tar stream (or was damaged in transit)",
            )

    def _sparse_entries(self, area: bytes) -> None:
        """Check the (offset, numbytes) pairs of an old GNU sparse map area (24 bytes each)."""
        for i in range(0, len(area) - 23, 24):
            if area[i] == 0:
                break  # the list ends at the first empty offset (GNU tar, BSD tar and Go alike)
            offset, length = number(area[i : i + 12]), number(area[i + 12 : i + 24])
            if offset is None or length is None:
                raise self._error("tar GNU sparse map has an invalid number")
            if offset < self._sparse_end or offset + length > self._sparse_realsize:
                raise self._error(
                    "tar GNU sparse map has fragments out of order, overlapping or beyond the file's size"
                )
            self._sparse_end = offset + length
            self._sparse_data += length

    def _sparse_finish(self) -> None:
        if self._sparse_data != self._sparse_stored:
            raise self._error(
                f"tar GNU sparse map describes {self._sparse_data} bytes of data, the entry stores "
                f"{self._sparse_stored}"
            )

    def _decimal(self, value: bytes, key: str) -> int:
        # pax numbers are decimal (POSIX pax "size"); Go rejects signs, negatives and more than int64.
        # The length check comes before int(): Python refuses to convert more than 4300 digits (ValueError).
        digits = value.lstrip(b"0") or b"0"
        if not value.isdigit() or len(digits) > 19 or int(digits) > MAX_INT64:
            raise self._error(f"tar pax record {key}={value[:30]!r} is not a decimal number of at most 2**63-1")
        return int(digits)

    def _error(self, message: str, *, hint: str | None = None, at: bool = True) -> CorruptLayerError:
        where = f" at tar offset {self._offset}" if at else ""
        return CorruptLayerError(
            message + where, hint=hint or "the layer is not a valid tar stream (or was damaged in transit)"
        )
