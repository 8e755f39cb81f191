"""Issue #12 item 2: a layer blob shared by two images is measured once, but checked for each image.

`good` and `bad` share layer A; bad's config names a wrong diff_id for it. Whatever order the images
are given in, and wherever A's measurement comes from (this run's stream, the store, the `threads`
executor, Dask, an analysis attached to good), the run fails with exit 1 and one line naming bad's
wrong diff_id — never `measured` for bad. Images are pushed by the independent pusher to the real registry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts import fixturegen
from tests.fleet.conftest import Run, _layer
from tests.reliability.helpers import assert_one_line_error
from tests.support.images import push, simple_image
from tests.support.push import PushedRef, Pusher
from tests.support.registry import RegistryProcess


@dataclass(frozen=True)
class Pair:
    good: PushedRef
    bad: PushedRef
    shared: fixturegen.Layer
    wrong: str  # the diff_id bad's config names for the shared layer


def _pair(pusher: Pusher, repo: str, seed: int) -> Pair:
    shared, own_good, own_bad = (_layer(kind, seed, 2500) for kind in ("shared", "good", "bad"))
    wrong = "sha256:" + hashlib.sha256(f"not the shared layer {seed}".encode()).hexdigest()
    good = push(pusher, repo, "good", simple_image([shared, own_good]))
    history = [{"created_by": f"COPY layer{i} /", "created": fixturegen.CREATED} for i in range(2)]
    config = fixturegen.make_config([wrong, own_bad.diff_id], history)
    bad = push(pusher, repo, "bad", fixturegen.make_image([shared, own_bad], config))
    return Pair(good, bad, shared, wrong)


def _assert_bad_named(run: Run, pair: Pair) -> None:
    line = assert_one_line_error(run, 1, contains=pair.wrong)
    assert pair.shared.digest in line, line


def test_alone_the_bad_image_fails(pusher: Pusher, repo_name: str, layerscope: Callable[..., Run]) -> None:
    pair = _pair(pusher, repo_name, 1)
    _assert_bad_named(layerscope("analyze", pair.bad.ref, "-o", "json", "--no-store"), pair)
    good = layerscope("analyze", pair.good.ref, "-o", "json", "--no-store")
    assert good.exit_code == 0, good.stderr


@pytest.mark.parametrize("order", ["good-bad", "bad-good"])
@pytest.mark.parametrize("via", ["stream", "store", "threads", "attached"])
def test_shared_layer_is_checked_for_each_image_in_either_order(
    registry: RegistryProcess,
    pusher: Pusher,
    repo_name: str,
    layerscope: Callable[..., Run],
    tmp_path: Path,
    order: str,
    via: str,
) -> None:
    pair = _pair(pusher, repo_name, 2)
    refs = [pair.good.ref, pair.bad.ref] if order == "good-bad" else [pair.bad.ref, pair.good.ref]
    store = ["--store", str(tmp_path / "m.sqlite3")]
    extra: list[str] = ["--no-store"]
    if via == "store":
        # The shared layer's measurement (with good's diff_id) is in the store before the run.
        warm = layerscope("analyze", pair.good.ref, "-o", "json", *store)
        assert warm.exit_code == 0, warm.stderr
        extra = store
    elif via == "threads":
        extra = ["--no-store", "--executor", "threads"]
    elif via == "attached":
        attached = layerscope("analyze", pair.good.ref, "--attach", "-o", "json", "--no-store")
        assert attached.exit_code == 0, attached.stderr
        extra = ["--no-store", "--use-attached"]
    mark = registry.mark()
    _assert_bad_named(layerscope("analyze", *refs, "-o", "json", *extra), pair)
    gets = [r.digest for r in registry.blob_gets(mark, status=200)]
    assert gets.count(pair.shared.digest) <= 1, "the shared blob was downloaded more than once"


def test_dask_answers_are_checked_for_each_image_in_either_order(
    pusher: Pusher, repo_name: str, layerscope: Callable[..., Run]
) -> None:
    pair = _pair(pusher, repo_name, 3)
    for refs in ([pair.good.ref, pair.bad.ref], [pair.bad.ref, pair.good.ref]):
        _assert_bad_named(layerscope("analyze", *refs, "-o", "json", "--no-store", "--executor", "dask"), pair)
