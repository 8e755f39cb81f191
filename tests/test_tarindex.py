"""The per-layer file index (issue #15), built in the tar walk, checked against Python's tarfile."""

from __future__ import annotations

import io
import posixpath
import random
import tarfile

import pytest

from layerscope.tarindex import FileEntry, IndexWriter, read_index
from layerscope.tarwalk import TarWalker


def _tar(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def _truth(data: bytes) -> dict[str, FileEntry]:
    """Path → last entry, read with tarfile (its own parser, its own path cleaning)."""
    out: dict[str, FileEntry] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            path = posixpath.normpath("/" + m.name).lstrip("/")
            if not path:
                continue
            base = path.rpartition("/")[2]
            if base == ".wh..wh..opq":
                entry = FileEntry("o", 0)
            elif base.startswith(".wh."):
                entry = FileEntry("w", 0)
            elif m.isreg():
                entry = FileEntry("f", m.size)
            elif m.isdir():
                entry = FileEntry("d", 0)
            elif m.issym():
                entry = FileEntry("l", 0)
            elif m.islnk():
                entry = FileEntry("h", 0, posixpath.normpath("/" + m.linkname).lstrip("/"))
            else:
                entry = FileEntry("x", 0)
            out.pop(path, None)
            out[path] = entry
    return out


def _index(data: bytes, piece: int = 777) -> dict[str, FileEntry]:
    walker = TarWalker(index=True)
    for i in range(0, len(data), piece):
        walker.feed(data[i : i + piece])
    stats = walker.finish()
    assert stats.file_index is not None
    return read_index(stats.file_index)


LONG = "deep/" + "x" * 120 + "/target.bin"


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_index_holds_the_last_entry_of_every_path(fmt: int) -> None:
    members = [
        (_info("./app", tarfile.DIRTYPE), b""),
        (_info("./app/a.txt"), b"first version"),
        (_info("app/b.bin"), b"b" * 3000),
        (_info("app/link-to-b", tarfile.LNKTYPE, "app/b.bin"), b""),
        (_info("app/sym", tarfile.SYMTYPE, "a.txt"), b""),
        (_info("app/.wh.gone"), b""),
        (_info("etc/.wh..wh..opq"), b""),
        (_info("dev/null", tarfile.CHRTYPE), b""),
        (_info("./app/a.txt"), b"second, longer version"),  # a duplicate path: the last one wins
        (_info("app/b.bin", tarfile.SYMTYPE, "a.txt"), b""),  # a file replaced by a symlink
    ]
    if fmt != tarfile.USTAR_FORMAT:  # names and link targets over 100 bytes: GNU K/L records or pax linkpath
        members += [(_info(LONG), b"t" * 10), (_info("deep/hard", tarfile.LNKTYPE, LONG), b"")]
    data = _tar(members, fmt)
    got = _index(data)
    assert got == _truth(data)
    assert got["app/a.txt"] == FileEntry("f", len(b"second, longer version"))
    assert list(got)[-1] == ("deep/hard" if fmt != tarfile.USTAR_FORMAT else "app/b.bin")


def test_index_of_many_random_files_round_trips() -> None:
    rng = random.Random(15)
    members = [(_info(f"Files/d{rng.randrange(40)}/f{i}.dll"), bytes(rng.randrange(2000))) for i in range(3000)]
    data = _tar(members, tarfile.PAX_FORMAT)
    assert _index(data, piece=4096) == _truth(data)


def test_a_path_with_nul_makes_no_index_rather_than_a_wrong_one() -> None:
    writer = IndexWriter()
    writer.add(0, 5, b"ok")
    writer.add(0, 5, b"bad\x00name")
    assert writer.finish() is None


def test_a_damaged_index_is_refused() -> None:
    writer = IndexWriter()
    writer.add(0, 5, b"ok")
    data = writer.finish()
    assert data is not None
    with pytest.raises(ValueError):
        read_index(data[:-3])
