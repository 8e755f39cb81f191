"""Independent ground truth for image contents (issue #15): layers extracted with tarfile into a directory,
whiteouts applied by hand, the result walked with os.walk. Nothing here uses layerscope."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LayerTruth:
    added: int = 0
    modified: int = 0
    deleted: int = 0
    reclaimed: int = 0


@dataclass
class ContentsTruth:
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (bytes, layer), hard links left out
    layers: list[LayerTruth] = field(default_factory=list)

    def dirs(self, depth: int, under: str = "") -> dict[str, tuple[int, int]]:
        """Directory -> (bytes, files) for directories at most *depth* levels below *under*."""
        out: dict[str, list[int]] = {}
        start = len(under.split("/")) if under else 0
        for path, (size, _) in self.files.items():
            if under and not path.startswith(under + "/"):
                continue
            parts = path.split("/")[:-1]
            for level in range(start + 1, min(len(parts), start + depth) + 1):
                acc = out.setdefault("/".join(parts[:level]), [0, 0])
                acc[0] += size
                acc[1] += 1
        return {k: (v[0], v[1]) for k, v in out.items()}


def _nondirs(root: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            out.add(name if rel == "." else f"{rel}/{name}")
    return out


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def extract_truth(layers: list[bytes], root: Path) -> ContentsTruth:
    """Extract uncompressed layer tars in order into *root* the way containerd does, counting as it goes."""
    root.mkdir(parents=True)
    truth = ContentsTruth()
    writer: dict[str, tuple[int, int]] = {}  # regular file path -> (bytes, layer)
    for index, data in enumerate(layers):
        lt = LayerTruth()
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            last: dict[str, tarfile.TarInfo] = {}
            for m in tar.getmembers():
                name = os.path.normpath(m.name).lstrip("/")
                if name != ".":
                    last.pop(name, None)
                    last[name] = m
            before = _nondirs(root)
            for name in last:  # whiteouts first: they act on the lower layers only
                head, _, base = name.rpartition("/")
                if base == ".wh..wh..opq":
                    target = root / head
                    for child in list(target.iterdir()) if target.is_dir() else []:
                        _remove(child)
                elif base.startswith(".wh."):
                    _remove(root / head / base[4:])
            for name, m in last.items():
                if m.isdir() or name.rpartition("/")[2].startswith(".wh."):
                    continue
                if (root / name).is_dir() and not (root / name).is_symlink():
                    shutil.rmtree(root / name)
            after = _nondirs(root)
            lt.deleted = len(before - after - set(last))
            for path in list(writer):
                if path in before and path not in after:
                    del writer[path]
            written = 0
            for name, m in last.items():
                if name.rpartition("/")[2].startswith(".wh."):
                    continue
                target = root / name
                if not m.isdir():
                    if name in before:
                        lt.modified += 1
                    else:
                        lt.added += 1
                    _remove(target)  # extraction unlinks first (never writes through a hard link)
                    writer.pop(name, None)
                if m.isreg():
                    written += m.size
                    writer[name] = (m.size, index)
                if m.isdir():
                    if target.is_symlink() or (target.exists() and not target.is_dir()):
                        target.unlink()  # a directory over a file replaces it
                        writer.pop(name, None)
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                if m.issym():
                    os.symlink(m.linkname, target)
                elif m.islnk():
                    os.link(root / os.path.normpath(m.linkname).lstrip("/"), target)
                else:
                    f = tar.extractfile(m)
                    target.write_bytes(f.read() if f else b"")
            lt.reclaimed = written
        truth.layers.append(lt)
    # The final view: regular files on disk, attributed to the layer whose regular-file member wrote them.
    on_disk = {p for p in _nondirs(root) if (root / p).is_file() and not (root / p).is_symlink()}
    truth.files = {p: writer[p] for p in on_disk if p in writer}
    for path, (size, layer) in truth.files.items():
        assert (root / path).stat().st_size == size
        truth.layers[layer].reclaimed -= size
    return truth


def docker_archive(path: Path, layers: list[bytes], diff_ids: list[str]) -> None:
    """A `docker save` tarball (manifest.json, config, one uncompressed tar per layer) for dive."""
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"COPY layer{i} /"} for i in range(len(layers))],
    }
    names = [f"{d.split(':')[1]}/layer.tar" for d in diff_ids]
    manifest = [{"Config": "config.json", "RepoTags": ["fixture:latest"], "Layers": names}]
    with tarfile.open(path, "w") as tar:
        for name, data in [("config.json", json.dumps(config).encode()), *zip(names, layers, strict=True)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("manifest.json")
        data = json.dumps(manifest).encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
