"""`diff A B --files`: which paths two images' final filesystems add, remove, grow or shrink (issue #15). Pure.

What container-diff's `--type=file --type=size` gave, from the layers' file indexes: paths are compared by
regular-file size only (an index holds no content hash, so a file rewritten at the same size is not seen).
A path that is a regular file in one image and not in the other (absent, or a directory, link, ...) is added
or removed. Changes are sorted by impact: the size of the change, largest first, then by path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from layerscope.contents import final_filesystem
from layerscope.tarindex import FileEntry

__all__ = ["FileChange", "FileDiff", "diff_files"]


@dataclass(frozen=True, slots=True)
class FileChange:
    """One path: `change` is added, removed, grown or shrunk; bytes are None where the path is not a file."""

    path: str
    change: str
    a_bytes: int | None
    b_bytes: int | None

    @property
    def delta(self) -> int:
        """B's bytes minus A's (a missing side counts 0)."""
        return (self.b_bytes or 0) - (self.a_bytes or 0)


@dataclass(frozen=True, slots=True)
class FileDiff:
    """All changed paths (sorted by impact) and what each image's figures cover."""

    changes: tuple[FileChange, ...]
    a_scope: str | None  # "all-layers" | "indexed-layers" | None when A has no index at all
    b_scope: str | None
    unchanged: int

    def total(self, change: str) -> int:
        """Bytes of one kind of change (absolute)."""
        return sum(abs(c.delta) for c in self.changes if c.change == change)

    def count(self, change: str) -> int:
        """Paths of one kind of change."""
        return sum(1 for c in self.changes if c.change == change)


def _files(indexes: Sequence[Mapping[str, FileEntry] | None]) -> dict[str, int]:
    return {p: e.size for p, (e, _) in final_filesystem(indexes).items() if e.kind == "f"}


def _scope(indexes: Sequence[Mapping[str, FileEntry] | None]) -> str | None:
    have = sum(1 for e in indexes if e is not None)
    return None if not have else "all-layers" if have == len(indexes) else "indexed-layers"


def diff_files(a: Sequence[Mapping[str, FileEntry] | None], b: Sequence[Mapping[str, FileEntry] | None]) -> FileDiff:
    """The file-level difference from image A (its layers' indexes) to image B."""
    fa, fb = _files(a), _files(b)
    changes = []
    unchanged = 0
    for path in fa.keys() | fb.keys():
        sa, sb = fa.get(path), fb.get(path)
        if sa is None:
            changes.append(FileChange(path, "added", None, sb))
        elif sb is None:
            changes.append(FileChange(path, "removed", sa, None))
        elif sb > sa:
            changes.append(FileChange(path, "grown", sa, sb))
        elif sb < sa:
            changes.append(FileChange(path, "shrunk", sa, sb))
        else:
            unchanged += 1
    changes.sort(key=lambda c: (-abs(c.delta), c.path))
    return FileDiff(tuple(changes), _scope(a), _scope(b), unchanged)
