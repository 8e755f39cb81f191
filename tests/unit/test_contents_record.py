"""The record an image's `contents` is cached as, and its cache key (issue #15): a round trip gives back
equal contents, anything else is a ValueError (a miss), and the key changes with every input that
changes the contents."""

from __future__ import annotations

import json

import pytest

from layerscope.contents import image_contents
from layerscope.contents_record import contents_key, from_record, to_record
from tests.test_contents import _indexes, linux_layers, windows_layers


@pytest.mark.parametrize("kind", ["linux", "windows", "foreign-base"])
def test_a_record_gives_back_equal_contents_through_json(kind: str) -> None:
    indexes = _indexes(windows_layers() if kind == "windows" else linux_layers())
    if kind == "foreign-base":
        indexes[0] = None  # type: ignore[call-overload]
    contents = image_contents(indexes)
    assert contents is not None
    assert from_record(json.loads(json.dumps(to_record(contents)))) == contents


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: r.pop("wasted"),
        lambda r: r.update(final_files="12"),
        lambda r: r.update(efficiency=True),
        lambda r: r.update(layers=[[1, 2, 3]]),
        lambda r: r.update(largest_files=[["a", 0]]),
        lambda r: r.update(windows=None),
    ],
)
def test_anything_but_a_record_is_a_value_error(damage: object) -> None:
    contents = image_contents(_indexes(linux_layers()))
    assert contents is not None
    record = to_record(contents)
    damage(record)  # type: ignore[operator]
    with pytest.raises(ValueError):
        from_record(record)


def test_the_key_follows_each_index_and_the_parameters() -> None:
    base = contents_key(["a" * 64, None, "b" * 64], top=10, depth=3)
    assert base == contents_key(["a" * 64, None, "b" * 64], top=10, depth=3)
    others = {
        contents_key(["a" * 64, None, "c" * 64], top=10, depth=3),  # a layer's index changed
        contents_key(["a" * 64, "d" * 64, "b" * 64], top=10, depth=3),  # a layer gained an index
        contents_key(["b" * 64, None, "a" * 64], top=10, depth=3),  # the same layers in another order
        contents_key(["a" * 64, None, "b" * 64], top=5, depth=3),
        contents_key(["a" * 64, None, "b" * 64], top=10, depth=2),
    }
    assert base not in others and len(others) == 5
