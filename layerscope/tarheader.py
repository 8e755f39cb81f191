"""Tar header fields (POSIX ustar/pax, GNU): numbers, strings, pax records — the parsing the walker needs.

See tarwalk.py for the formats and the references; this module only decodes fields, it keeps no state.
"""

from __future__ import annotations

__all__ = [
    "BLOCK",
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_MAX_HEADER_BYTES",
    "HIGH_BYTES",
    "MAX_INT64",
    "PAX_KEYS",
    "USTAR_MAGIC",
    "ZERO_BLOCK",
    "cstring",
    "merge_pax",
    "number",
    "padded",
    "parse_pax",
]

BLOCK = 512
#: Go's archive/tar refuses pax and GNU long-name records over 1 MiB (maxSpecialFileSize); so do we.
DEFAULT_MAX_HEADER_BYTES = 1 << 20
#: Windows Server Core base layers hold a few hundred thousand headers (a pax header per file).
DEFAULT_MAX_ENTRIES = 10_000_000

#: Numeric fields beyond int64 are invalid (Go's archive/tar parseNumeric: ErrHeader), so never counted.
MAX_INT64 = (1 << 63) - 1
ZERO_BLOCK = bytes(BLOCK)
HIGH_BYTES = bytes(range(128, 256))
_OCTAL_DIGITS = b"01234567"
USTAR_MAGIC = b"ustar\x00"

# pax keys the walker needs; others (mtime, uname, MSWINDOWS.rawsd, …) are parsed and dropped so that a
# chain of extension headers cannot grow memory.
PAX_KEYS = frozenset({b"path", b"linkpath", b"size", b"GNU.sparse.name", b"GNU.sparse.size", b"GNU.sparse.realsize"})


def padded(size: int) -> int:
    """*size* rounded up to whole 512-byte blocks."""
    return (size + BLOCK - 1) & ~(BLOCK - 1)


def cstring(field: bytes) -> bytes:
    """A NUL-terminated header string (ustar: NUL-terminated unless it fills the field)."""
    end = field.find(0)
    return field if end < 0 else field[:end]


def number(field: bytes) -> int | None:
    """A numeric header field (octal, or GNU base-256); None when it is malformed or negative."""
    first = field[0]
    if first & 0x80:
        # GNU base-256: bit 7 marks binary, bit 6 is the sign (two's complement); negative is never valid.
        if first & 0x40:
            return None
        value = int.from_bytes(field, "big") ^ (0x80 << (8 * (len(field) - 1)))
        return value if value <= MAX_INT64 else None
    # Octal, padded with spaces or NULs on either side (Go trims both; tarfile cuts at the first NUL).
    digits = field.strip(b" \x00")
    if not digits:
        return 0
    if digits.strip(_OCTAL_DIGITS):
        return None
    return int(digits, 8)


def parse_pax(data: bytes) -> dict[bytes, bytes] | None:
    """The records of a pax extended header we care about ("%d %s=%s\\n", length counts itself); None if bad."""
    out: dict[bytes, bytes] = {}
    pos = 0
    end_all = len(data)
    while pos < end_all:
        if data[pos] == 0 and not data[pos:].strip(b"\x00"):
            break  # some writers NUL-pad the record area; what follows the last record is padding only
        space = data.find(b" ", pos, pos + 21)
        if space <= pos:
            return None
        length_field = data[pos:space]
        if not length_field.isdigit():
            return None
        end = pos + int(length_field)
        if end > end_all or end <= space + 1 or data[end - 1] != 0x0A:
            return None
        key, eq, value = data[space + 1 : end - 1].partition(b"=")
        if not eq or not key:
            return None
        if key in PAX_KEYS:
            out[key] = value
        pos = end
    return out


def merge_pax(into: dict[bytes, bytes], records: dict[bytes, bytes]) -> None:
    """Apply pax records: an empty value deletes the key (POSIX pax, "pax Extended Header")."""
    for key, value in records.items():
        if value:
            into[key] = value
        else:
            into.pop(key, None)
