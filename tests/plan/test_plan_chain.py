"""Chain IDs (OCI image-spec config.md "Layer ChainID") and cache hits by chain."""

from __future__ import annotations

import hashlib

import pytest

from layerscope.errors import InvalidManifestError
from layerscope.plan import baked_chain_ids, cached_layers, chain_ids


def d(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def test_chain_ids_match_a_hand_computation() -> None:
    a, b, c = d("a"), d("b"), d("c")
    ab = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    abc = "sha256:" + hashlib.sha256(f"{ab} {c}".encode()).hexdigest()
    assert chain_ids([a, b, c]) == [a, ab, abc]
    assert chain_ids([a]) == [a]
    assert chain_ids([]) == []


def test_known_chain_id_from_a_real_windows_image() -> None:
    # ChainID(L0|L1) of the ltsc2022 base (diff_ids c1868640… and ab796afc…, windows-base-diffids.csv).
    rtm = "sha256:c18686406f96b263d986714a2d88add06ea9ddbb3e52fb936222711da7d9d395"
    upd = "sha256:ab796afc7ed7e8762e69f652a7b4a524915e8737908d20a080273f8be7258ca7"
    expected = "sha256:" + hashlib.sha256(f"{rtm} {upd}".encode("ascii")).hexdigest()
    assert chain_ids([rtm, upd])[1] == expected


def test_cache_hit_needs_the_whole_chain() -> None:
    base, update, app = d("base"), d("update"), d("app")
    held = baked_chain_ids([[base, update]])
    assert cached_layers(chain_ids([base, update, app]), held) == [True, True, False]
    assert cached_layers(chain_ids([base, d("other-update"), app]), held) == [True, False, False]


def test_shared_layer_at_another_position_is_not_a_hit() -> None:
    base, shared, other = d("base"), d("shared"), d("other")
    held = baked_chain_ids([[base, shared]])
    # The same diff_id on another parent, or as the first layer, is another chain: no hit.
    assert cached_layers(chain_ids([other, shared]), held) == [False, False]
    assert cached_layers(chain_ids([shared]), held) == [False]
    assert chain_ids([other, shared])[1] not in held


def test_missing_parent_chain_blocks_a_hit() -> None:
    a, b = d("a"), d("b")
    only_top = {chain_ids([a, b])[1]}
    assert cached_layers(chain_ids([a, b]), only_top) == [False, False]


def test_invalid_diff_id_is_rejected() -> None:
    with pytest.raises(InvalidManifestError):
        chain_ids([d("a"), "sha256:nothex"])
