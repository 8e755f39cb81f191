"""Reading node profiles and baked-set files: shipped profiles (plan/profiles/*.yaml), user YAML/JSON files.

The validation of a profile's values is pure and lives in plan/profile.py (`profile_from_mapping`); this module
does the file I/O and the YAML/JSON parsing, and resolves `extends:` (issue #13 move 3).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from layerscope.errors import ProfileError
from layerscope.plan.profile import (
    _META_KEYS,
    _NAME,
    VALUE_KEYS,
    NodeProfile,
    _check_reference,
    profile_from_mapping,
)

__all__ = ["list_profiles", "load_baked", "load_profile"]

_FILE_SUFFIXES = (".yaml", ".yml", ".json")


def _shipped_dir() -> Any:
    return resources.files("layerscope.plan") / "profiles"


def list_profiles() -> list[str]:
    """Names of the shipped profiles, sorted."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in _shipped_dir().iterdir()
        if entry.name.endswith(".yaml") and not entry.name.startswith("_")
    )


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{where} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise ProfileError(f"{where} must be a YAML mapping of profile keys")
    return doc


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.endswith(_FILE_SUFFIXES)


def _raw_profile(name_or_path: str, seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    """The profile document with `extends` resolved, and where it came from."""
    path = Path(name_or_path)
    looks_like_path = _looks_like_path(name_or_path)
    is_file = looks_like_path or name_or_path not in list_profiles()
    if is_file and not looks_like_path and not path.is_file():
        raise ProfileError(
            f"unknown profile {name_or_path!r}",
            hint=f"choose one of {', '.join(list_profiles())}, or give a path to a YAML file",
        )
    if is_file:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(f"cannot read profile {name_or_path}: {exc.strerror or exc}") from None
        origin = str(path)
    else:
        text = (_shipped_dir() / f"{name_or_path}.yaml").read_text(encoding="utf-8")
        origin = "shipped"
    where = f"profile {name_or_path}"
    doc = _read_yaml(text, where)
    unknown = sorted(set(doc) - set(VALUE_KEYS) - set(_META_KEYS))
    if unknown:
        raise ProfileError(
            f"{where}: unknown keys {', '.join(unknown)}",
            hint=f"profile keys are: {', '.join((*_META_KEYS, *VALUE_KEYS))}",
        )
    if is_file:
        _relative_to(doc, path.parent)
    if "name" not in doc and is_file and _NAME.fullmatch(path.stem.lower()):
        doc["name"] = path.stem.lower()  # a user file is named after itself unless it says otherwise
    parent_name = doc.get("extends")
    if parent_name is None:
        return doc, origin
    if not isinstance(parent_name, str):
        raise ProfileError(f"{where}: extends must be the name of a shipped profile or a file path")
    if is_file and _looks_like_path(parent_name) and not Path(parent_name).is_absolute():
        parent_name = str(path.parent / parent_name)  # a relative `extends:` is relative to this file
    if parent_name in seen or parent_name == name_or_path:
        raise ProfileError(f"{where}: extends loops through {parent_name!r}")
    parent, _ = _raw_profile(parent_name, (*seen, name_or_path))
    merged = {k: v for k, v in parent.items() if k not in ("name", "extends")}
    sources = dict(parent.get("sources") or {})
    own_sources = doc.get("sources") or {}
    if not isinstance(own_sources, dict):
        raise ProfileError(f"{where}: sources must be a mapping of key to source")
    for key, value in doc.items():
        if key == "sources":
            continue
        merged[key] = value
        if key in VALUE_KEYS:
            # An overridden value must not keep the parent's source.
            sources[key] = own_sources.get(key) or f"set in {origin if is_file else where}"
    sources.update(own_sources)
    merged["sources"] = sources
    merged.pop("extends", None)
    return merged, origin


def _relative_to(doc: dict[str, Any], folder: Path) -> None:
    """Relative `oci:` baked paths in a profile file are relative to that file's folder (#18 item 3)."""
    baked = doc.get("baked")
    if not isinstance(baked, list):
        return
    for i, item in enumerate(baked):
        ref = item.get("reference") if isinstance(item, dict) else item
        if not isinstance(ref, str) or not ref.startswith("oci:"):
            continue
        rest = ref[len("oci:") :]
        if rest and not Path(rest.split(":", 1)[0].split("@", 1)[0]).is_absolute():
            fixed = f"oci:{folder / rest}"
            if isinstance(item, dict):
                baked[i] = {**item, "reference": fixed}
            else:
                baked[i] = fixed


def load_profile(name_or_path: str) -> NodeProfile:
    """A shipped profile by name, or a user profile from a YAML (or JSON) file."""
    doc, origin = _raw_profile(name_or_path)
    return profile_from_mapping(doc, origin=origin, where=f"profile {name_or_path}")


def load_baked(path: str | Path) -> list[str]:
    """References in a baked-set file: a text pull list, a JSON list, or JSON `{"images": [{"reference"}]}`.

    Text: one reference per line; `#` starts a comment (whole line, or after whitespace); blank lines are
    skipped. JSON: a list of reference strings, or an object whose `images` list holds strings or objects
    with a `reference` (the pull-list JSON). Every reference is checked with the reference parser.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read baked-set file {p}: {getattr(exc, 'strerror', None) or exc}") from None
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return _baked_json(text, str(p))
    refs = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if content:
            refs.append(_check_reference(content, f"{p} line {number}"))
    return refs


def _baked_json(text: str, where: str) -> list[str]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"baked-set file {where} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    items = doc.get("images") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ProfileError(
            f'baked-set file {where}: expected a JSON list of references or {{"images": [...]}}',
        )
    refs = []
    for i, item in enumerate(items):
        value = item.get("reference") if isinstance(item, dict) else item
        refs.append(_check_reference(value, f"{where} entry {i}"))
    return refs
