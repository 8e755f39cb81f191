"""The push-style tar walker, checked against Python's tarfile (and GNU tar for sparse files)."""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import subprocess
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerscope.errors import CorruptLayerError
from layerscope.tarwalk import TarStats, TarWalker
from tests.support.truth import tar_fields

# -- independent ground truth (tarfile only) ----------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    """Counts computed with tarfile, the way DESIGN.md defines them."""

    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    hardlinks: int = 0
    whiteouts: int = 0
    other_entries: int = 0
    extracted_bytes: int = 0
    windows_files_bytes: int | None = None
    windows_hives_bytes: int | None = None


def truth(data: bytes) -> Truth:
    """Count the members of a tar with tarfile (tests/support/truth.py)."""
    return Truth(**tar_fields(data))


def as_truth(stats: TarStats) -> Truth:
    return Truth(
        files=stats.files,
        dirs=stats.dirs,
        symlinks=stats.symlinks,
        hardlinks=stats.hardlinks,
        whiteouts=stats.whiteouts,
        other_entries=stats.other_entries,
        extracted_bytes=stats.extracted_bytes,
        windows_files_bytes=stats.windows_files_bytes,
        windows_hives_bytes=stats.windows_hives_bytes,
    )


def walk(data: bytes, chunk: int = 65536, **limits: int) -> TarStats:
    walker = TarWalker(**limits)
    for i in range(0, len(data), chunk):
        walker.feed(data[i : i + chunk])
    return walker.finish()


# -- building archives --------------------------------------------------------------------------------


def content(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


@dataclass(frozen=True)
class Member:
    name: str
    kind: str = "file"  # file | dir | symlink | hardlink | fifo | chr
    size: int = 0
    target: str = ""


def build(members: Iterable[Member], fmt: int = tarfile.PAX_FORMAT, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, **kwargs) as tf:  # type: ignore[call-overload]
        for i, m in enumerate(members):
            info = tarfile.TarInfo(m.name)
            info.mtime = 1_700_000_000
            data = None
            if m.kind == "file":
                info.size = m.size
                data = io.BytesIO(content(i, m.size))
            elif m.kind == "dir":
                info.type = tarfile.DIRTYPE
            elif m.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, m.target
            elif m.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, m.target
            elif m.kind == "fifo":
                info.type = tarfile.FIFOTYPE
            elif m.kind == "chr":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            tf.addfile(info, data)
    return buf.getvalue()


def set_checksum(header: bytearray) -> None:
    header[148:156] = b"        "
    header[148:156] = b"%06o\x00 " % sum(header)


MIXED = [
    Member("etc/", "dir"),
    Member("etc/hosts", size=1234),
    Member("etc/empty", size=0),
    Member("usr/lib/big.bin", size=300_000),
    Member("usr/lib/link", "symlink", target="big.bin"),
    Member("usr/lib/hard", "hardlink", target="usr/lib/big.bin"),
    Member("dev/null", "chr"),
    Member("run/fifo", "fifo"),
]


# -- formats ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
@pytest.mark.parametrize("chunk", [1, 7, 512, 4096, 1 << 20])
def test_formats_and_chunkings_agree_with_tarfile(fmt: int, chunk: int) -> None:
    data = build(MIXED, fmt)
    got = as_truth(walk(data, chunk))
    assert got == truth(data)
    assert got.files == 3 and got.hardlinks == 1 and got.symlinks == 1 and got.other_entries == 2
    assert got.extracted_bytes == 1234 + 300_000  # a hard link extracts no bytes of its own


def test_pax_long_names_and_unicode() -> None:
    long_dir = "/".join(["d" * 60] * 6)
    members = [Member(f"{long_dir}/file-{i}-é✓.txt", size=100 + i) for i in range(5)]
    members.append(Member(f"{long_dir}/.wh.gone"))
    members.append(Member("ln", "symlink", target="t" * 300))
    data = build(members, tarfile.PAX_FORMAT)
    got = walk(data)
    assert as_truth(got) == truth(data)
    assert got.whiteouts == 1 and got.files == 5


def test_gnu_long_names_and_long_links() -> None:
    long_name = "x" * 150 + "/" + "y" * 150
    members = [
        Member(long_name + "/file", size=10),
        Member(long_name + "/.wh..wh..opq"),
        Member("short", "symlink", target="z" * 200),
        Member("hard", "hardlink", target=long_name + "/file"),
    ]
    data = build(members, tarfile.GNU_FORMAT)
    got = walk(data, 100)
    assert as_truth(got) == truth(data)
    assert (got.files, got.whiteouts, got.symlinks, got.hardlinks) == (1, 1, 1, 1)


def test_pax_size_overrides_the_header_size() -> None:
    # The ustar size field says 0; the pax `size` record (which tarfile honours) says 5000.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("big")
        info.size = 5000
        info.pax_headers = {"size": "5000"}
        tf.addfile(info, io.BytesIO(content(1, 5000)))
        tf.addfile(tarfile.TarInfo("after"), io.BytesIO(b""))
    data = bytearray(buf.getvalue())
    header_at = 1024  # pax header block + one block of records, then the member's ustar header
    assert data[header_at + 156 : header_at + 157] == b"0"
    data[header_at + 124 : header_at + 136] = b"00000000000\x00"
    patched = data[header_at : header_at + 512]
    set_checksum(patched)
    data[header_at : header_at + 512] = patched
    expected = truth(bytes(data))
    assert expected.extracted_bytes == 5000 and expected.files == 2
    assert as_truth(walk(bytes(data))) == expected


def test_pax_global_headers_apply_to_later_entries() -> None:
    data = build(MIXED[:3], tarfile.PAX_FORMAT, pax_headers={"comment": "made by a test", "uname": "x"})
    assert data[156:157] == b"g"
    assert as_truth(walk(data)) == truth(data)


def test_base256_size_field() -> None:
    data = bytearray(build([Member("f", size=700), Member("g", size=3)], tarfile.GNU_FORMAT))
    header = data[0:512]
    header[124:136] = b"\x80" + (700).to_bytes(11, "big")
    set_checksum(header)
    data[0:512] = header
    assert as_truth(walk(bytes(data))) == truth(bytes(data))
    header[124:136] = b"\xff" * 12  # base-256 -1: a negative size
    set_checksum(header)
    data[0:512] = header
    with pytest.raises(CorruptLayerError, match="size"):
        walk(bytes(data))


def test_signed_checksum_is_accepted() -> None:
    data = bytearray(build([Member("caf\u00e9-\u00ff", size=5)], tarfile.USTAR_FORMAT, encoding="latin-1"))
    header = data[0:512]
    signed = sum(b - 256 if b >= 128 else b for b in header[:148] + b" " * 8 + header[156:])
    header[148:156] = b"%06o\x00 " % signed
    data[0:512] = header
    assert as_truth(walk(bytes(data))) == truth(bytes(data))


def test_old_style_regular_type_with_slash_is_a_directory() -> None:
    data = bytearray(build([Member("olddir/", "dir"), Member("olddir/f", size=3)], tarfile.USTAR_FORMAT))
    header = data[0:512]
    header[156] = 0
    set_checksum(header)
    data[0:512] = header
    got = walk(bytes(data))
    assert as_truth(got) == truth(bytes(data))
    assert got.dirs == 1


def test_header_only_types_ignore_their_size_field() -> None:
    # Go's archive/tar (and tarfile) read no data after a hard link, whatever its size field says.
    data = bytearray(build([Member("f", size=10), Member("h", "hardlink", target="f"), Member("z", size=1)]))
    at = 1024  # after f's header and data block
    assert data[at : at + 2] == b"h\x00"
    header = data[at : at + 512]
    header[124:136] = b"00000001000\x00"
    set_checksum(header)
    data[at : at + 512] = header
    assert as_truth(walk(bytes(data))) == truth(bytes(data))


def test_unknown_types_are_other_entries_with_data() -> None:
    data = bytearray(build([Member("vendor", size=700), Member("next", size=1)], tarfile.USTAR_FORMAT))
    header = data[0:512]
    header[156:157] = b"Q"
    set_checksum(header)
    data[0:512] = header
    got = walk(bytes(data))
    assert as_truth(got) == truth(bytes(data))
    assert (got.other_entries, got.files) == (1, 1)


# -- whiteouts and Windows layers ---------------------------------------------------------------------


def test_whiteouts_count_zero_bytes_and_are_not_files() -> None:
    data = build(
        [
            Member("app/", "dir"),
            Member("app/.wh.old.conf", size=0),
            Member("app/.wh..wh..opq", size=0),
            Member("app/.wh.dir/", "dir"),
            Member("app/new.conf", size=77),
            Member("app/not.wh.file", size=5),
        ]
    )
    got = walk(data)
    assert as_truth(got) == truth(data)
    assert (got.whiteouts, got.files, got.dirs, got.extracted_bytes) == (3, 2, 1, 82)


@pytest.mark.parametrize("prefix", ["", "./", "/"])
def test_windows_files_and_hives_split(prefix: str) -> None:
    members = [
        Member(f"{prefix}Files/", "dir"),
        Member(f"{prefix}Files/Windows/System32/kernel32.dll", size=4000),
        Member(f"{prefix}Files/Windows/notepad.exe", size=1500),
        Member(f"{prefix}Files/Windows/.wh.removed.dll"),
        Member(f"{prefix}Hives/", "dir"),
        Member(f"{prefix}Hives/Software_Delta", size=2500),
        Member(f"{prefix}Hives/System_Delta", size=600),
        Member(f"{prefix}UtilityVM/Files/vm.bin", size=900),
        Member(f"{prefix}Files/Windows/hard.dll", "hardlink", target=f"{prefix}Files/Windows/notepad.exe"),
    ]
    data = build(members)
    got = walk(data)
    assert as_truth(got) == truth(data)
    assert (got.windows_files_bytes, got.windows_hives_bytes) == (5500, 3100)
    assert got.extracted_bytes == 5500 + 3100 + 900


def test_linux_layer_has_no_windows_split() -> None:
    got = walk(build([Member("Files/x", size=3), Member("etc/passwd", size=5)]))
    assert got.windows_files_bytes is None and got.windows_hives_bytes is None


# -- end of archive, truncation, corruption -----------------------------------------------------------


def test_empty_archives() -> None:
    zero = TarStats(0, 0, 0, 0, 0, 0, 0, None, None)
    assert walk(bytes(1024)) == zero  # the OCI "empty layer": just the end-of-archive marker
    assert walk(b"") == zero  # no bytes at all: an empty archive, as for Go's archive/tar
    assert walk(bytes(512)) == zero  # a lone zero block at the end (GNU tar: a warning)


def test_missing_trailer_and_trailing_data() -> None:
    data = build(MIXED)
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        last = tf.getmembers()[-1]  # a FIFO: no data, so the archive body ends right after its header
    body = data[: last.offset_data]
    assert len(body) % 512 == 0 and body[-512:] != bytes(512)
    assert as_truth(walk(body)) == truth(data)  # no end-of-archive marker: still a clean end
    assert as_truth(walk(body + bytes(1024) + b"anything after the end is not parsed")) == truth(data)


def test_zero_block_followed_by_a_header_is_corrupt() -> None:
    one = build([Member("a", size=1)])
    with pytest.raises(CorruptLayerError, match="lone zero block"):
        walk(one[:1024] + bytes(512) + one[:1024])


@pytest.mark.parametrize("cut", [100, 511, 512, 700, 1023])
def test_truncated_archives(cut: int) -> None:
    data = build([Member("a", size=600), Member("b", size=10)])
    with pytest.raises(CorruptLayerError, match="truncated"):
        walk(data[:cut])


def test_truncated_pax_header_and_dangling_extension() -> None:
    data = build([Member("p" * 200, size=3)], tarfile.PAX_FORMAT)
    with pytest.raises(CorruptLayerError, match="truncated"):
        walk(data[:700])  # inside the pax records
    with pytest.raises(CorruptLayerError, match="extension header"):
        walk(data[:1024])  # the pax header, then nothing
    with pytest.raises(CorruptLayerError, match="extension header"):
        walk(data[:1024] + bytes(1024))  # the pax header, then the end marker


def test_bad_checksum() -> None:
    data = bytearray(build([Member("a", size=1), Member("b", size=1)]))
    data[1024 + 5] ^= 0x01  # the second member's name (after the first member's header and data block)
    with pytest.raises(CorruptLayerError, match="checksum"):
        walk(bytes(data))
    with pytest.raises(CorruptLayerError, match="at tar offset 0"):
        walk(b"this is not a tar archive at all" * 20)


@pytest.mark.parametrize(
    "records",
    [b"x", b"11 path=a\n", b"5 path=abc\n", b"12 noequals\n", b"99999999999999999999999 a=b\n", b"-5 a=b\n"],
)
def test_malformed_pax_records(records: bytes) -> None:
    header = bytearray(build([Member("h")], tarfile.USTAR_FORMAT)[:512])
    header[0:100] = b"PaxHeaders/h".ljust(100, b"\x00")
    header[156:157] = b"x"
    header[124:136] = b"%011o\x00" % len(records)
    set_checksum(header)
    stream = bytes(header) + records.ljust(512, b"\x00") + build([Member("h", size=1)])
    with pytest.raises(CorruptLayerError):
        walk(stream)


def test_pax_records_padded_with_nuls_are_accepted() -> None:
    records = b"12 path=abc\n"
    header = bytearray(build([Member("h")], tarfile.USTAR_FORMAT)[:512])
    header[156:157] = b"x"
    header[124:136] = b"%011o\x00" % (len(records) + 20)
    set_checksum(header)
    stream = bytes(header) + records.ljust(512, b"\x00") + build([Member("h", size=1)])
    assert walk(stream).files == 1


# -- limits -------------------------------------------------------------------------------------------


def test_header_bytes_limit() -> None:
    data = build([Member("n" * 5000, size=1)], tarfile.PAX_FORMAT)
    assert walk(data, max_header_bytes=8192).files == 1
    with pytest.raises(CorruptLayerError, match="exceeds the 4096-byte limit") as info:
        walk(data, max_header_bytes=4096)
    assert info.value.hint and "max_header_bytes" in info.value.hint


def test_entries_limit() -> None:
    data = build([Member(f"f{i}", size=1) for i in range(10)], tarfile.USTAR_FORMAT)
    assert walk(data, max_entries=10).files == 10
    with pytest.raises(CorruptLayerError, match="more than 9 headers"):
        walk(data, max_entries=9)


# -- GNU sparse files (written by GNU tar, read back by tarfile) ----------------------------------------


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")
@pytest.mark.parametrize(
    "options",
    [
        ["--format=gnu"],  # old GNU sparse: type S, with extension blocks for more than 4 regions
        ["--format=pax", "--sparse-version=0.0"],
        ["--format=pax", "--sparse-version=0.1"],
        ["--format=pax", "--sparse-version=1.0"],
    ],
)
def test_gnu_sparse_files_count_their_logical_size(tmp_path: Path, options: list[str]) -> None:
    version = subprocess.run(["tar", "--version"], capture_output=True, text=True).stdout
    if "GNU tar" not in version:
        pytest.skip("needs GNU tar")
    src = tmp_path / "src"
    src.mkdir()
    sparse = src / "sparse.img"
    with sparse.open("wb") as f:
        for region in range(9):  # 9 data regions separated by 64 KiB holes
            f.seek(region * 80 * 1024)
            f.write(content(region, 4096))
        f.truncate(1024 * 1024)
    (src / "plain.txt").write_bytes(b"hello\n")
    archive = tmp_path / "a.tar"
    subprocess.run(
        ["tar", "--sparse", *options, "-cf", str(archive), "-C", str(src), "sparse.img", "plain.txt"],
        check=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    data = archive.read_bytes()
    got = walk(data, 1000)
    expected = truth(data)
    assert as_truth(got) == expected
    assert got.files == 2
    assert got.extracted_bytes == sparse.stat().st_size + 6 == expected.extracted_bytes


# -- properties ---------------------------------------------------------------------------------------

_names = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x2FF, exclude_characters="/\\\x7f"),
    min_size=1,
    max_size=40,
)
_members = st.lists(
    st.builds(
        Member,
        name=st.lists(_names, min_size=1, max_size=6).map("/".join)
        | st.sampled_from(["Files/a.dll", "Hives/Sys", "x/.wh.y", ".wh..wh..opq"]),
        kind=st.sampled_from(["file", "file", "dir", "symlink", "hardlink", "fifo"]),
        size=st.integers(0, 3000),
        target=_names,
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    members=_members,
    fmt=st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
    chunk=st.integers(1, 5000),
)
def test_property_agrees_with_tarfile(members: list[Member], fmt: int, chunk: int) -> None:
    try:
        data = build(members, fmt)
    except ValueError:  # a name ustar cannot store
        return
    assert as_truth(walk(data, chunk)) == truth(data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=4000), chunk=st.integers(1, 1100))
def test_property_arbitrary_bytes_never_crash(data: bytes, chunk: int) -> None:
    with contextlib.suppress(CorruptLayerError):
        walk(data, chunk, max_header_bytes=2048, max_entries=50)


@settings(max_examples=300, deadline=None)
@given(
    edits=st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.integers(0, 6000),
    chunk=st.integers(1, 1100),
    fmt=st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
)
def test_property_damaged_archives_never_crash(edits: list[tuple[int, int]], cut: int, chunk: int, fmt: int) -> None:
    data = bytearray(build([*MIXED[:4], Member("n" * 150, size=100)], fmt)[:6000])
    for at, value in edits:
        if at < len(data):
            data[at] = value
    for header_at in range(0, len(data) - 511, 512):  # also keep some damaged headers checksum-valid
        if header_at % 1536 == 0:
            block = data[header_at : header_at + 512]
            set_checksum(block)
            data[header_at : header_at + 512] = block
    with contextlib.suppress(CorruptLayerError):
        walk(bytes(data[:cut]), chunk, max_header_bytes=2048, max_entries=50)


# -- duplicated paths: what extraction leaves (issue #12 item 7) --------------------------------------------------


def extracted_truth(data: bytes, root: Path) -> Truth:
    """Extract *data* with tarfile into *root* the way containerd applies a layer (an existing path is removed
    first unless both are directories), then count what is on disk: regular-file bytes once per inode."""
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive:
            target = root / member.name.lstrip("/")
            if os.path.lexists(target) and not (target.is_dir() and not target.is_symlink() and member.isdir()):
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
            archive.extract(member, root, filter="fully_trusted")
    counts = Truth()
    inodes: set[int] = set()
    files = links = dirs = symlinks = whiteouts = extracted = win_files = win_hives = 0
    for path in root.rglob("*"):
        st = path.lstat()
        if path.is_symlink():
            symlinks += 1
        elif path.is_dir():
            dirs += 1
        elif path.name.startswith(".wh."):
            whiteouts += 1
        elif st.st_ino in inodes:
            links += 1
        else:
            inodes.add(st.st_ino)
            files += 1
            extracted += st.st_size
            top = path.relative_to(root).parts[0]
            win_files += st.st_size if top == "Files" else 0
            win_hives += st.st_size if top == "Hives" else 0
    windows = (root / "Files").exists() and (root / "Hives").exists()
    return Truth(
        files=files,
        dirs=dirs,
        symlinks=symlinks,
        hardlinks=links,
        whiteouts=whiteouts,
        other_entries=counts.other_entries,
        extracted_bytes=extracted,
        windows_files_bytes=win_files if windows else None,
        windows_hives_bytes=win_hives if windows else None,
    )


DUPLICATES = {
    "file written twice": [Member("a", size=1000), Member("b", size=10), Member("a", size=300)],
    "spellings of one path": [
        Member("d/", "dir"),
        Member("./d/x", size=700),
        Member("d//x", size=5),
        Member("d/", "dir"),
    ],
    "dir replaces file": [Member("e", size=4096), Member("e", "dir"), Member("e/in", size=3)],
    "file replaces empty dir": [Member("f", "dir"), Member("f", size=50)],
    "symlink replaces file": [Member("s", size=999), Member("s", "symlink", target="b")],
    "hardlink replaces file": [Member("t", size=10), Member("h", size=77), Member("h", "hardlink", target="t")],
    "windows split": [
        Member("Files/", "dir"),
        Member("Hives/", "dir"),
        Member("Files/w.dll", size=6000),
        Member("Hives/Sys", size=800),
        Member("Files/w.dll", size=2000),
        Member("Hives/Sys", size=900),
    ],
    "whiteout twice": [Member("g/", "dir"), Member("g/.wh.old", size=0), Member("g/.wh.old", size=0)],
}


@pytest.mark.parametrize("case", list(DUPLICATES))
@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT])
def test_duplicated_paths_count_what_extraction_leaves(case: str, fmt: int, tmp_path: Path) -> None:
    data = build(DUPLICATES[case], fmt)
    want = extracted_truth(data, tmp_path)
    got = as_truth(walk(data, 100))
    assert got == want
    assert got == truth(data)  # the shared ground truth (tests/support/truth.py) agrees with extraction
    naive = sum(m.size for m in DUPLICATES[case] if m.kind == "file")
    if case in ("file written twice", "spellings of one path", "windows split"):
        assert got.extracted_bytes < naive  # counting every entry would overstate


def test_many_distinct_paths_grow_the_path_table() -> None:
    members = [Member(f"d{i // 100}/f{i}", size=i % 7) for i in range(5000)] + [Member("d0/f3", size=1000)]
    got = walk(build(members, tarfile.USTAR_FORMAT))
    assert got.files == 5000
    assert got.extracted_bytes == sum(i % 7 for i in range(5000)) - 3 + 1000
