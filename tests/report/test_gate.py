"""The pull gate: per image, strict, unknown cache state counts as pulled, one-line reasons."""

from __future__ import annotations

import pytest

from layerscope.errors import UsageError
from layerscope.gate import GATE_EXIT_CODE, check_pull_gate
from tests.report.helpers import image, layer_spec

BASE = [layer_spec("base", 1_000_000, 2_000_000, base=True, foreign=True)]
SMALL = image("reg/small:1", [*BASE, layer_spec("small", 300, 600)], cached=[True, False])
BIG = image("reg/big:1", [*BASE, layer_spec("big", 90_000, 100_000)], cached=[True, False])
DRIFTED = image("reg/drifted:1", [*BASE, layer_spec("d", 500, 900)], cached=[False, False])


def test_exit_code_is_six() -> None:
    assert GATE_EXIT_CODE == 6


def test_within_limit() -> None:
    result = check_pull_gate([SMALL, BIG], 90_000)  # equal to the limit passes
    assert not result.exceeded and result.offenders == ()
    assert result.largest_pull_bytes == 90_000
    assert result.reason.startswith("every image pulls at most 90 kB (90,000 B)")
    assert "\n" not in result.reason


def test_exceeded_names_the_worst_image_and_counts_the_rest() -> None:
    result = check_pull_gate([SMALL, BIG, DRIFTED], 1_000)
    assert result.exceeded
    assert result.offenders == (("reg/drifted:1", 1_000_500), ("reg/big:1", 90_000))
    assert result.reason == (
        "reg/drifted:1 pulls 1 MB (1,000,500 B) beyond the baked set, over the limit of 1 kB (1,000 B); "
        "1 more image(s) over the limit"
    )
    assert "\n" not in result.reason


def test_unknown_cache_state_counts_as_pulled() -> None:
    unknown = image("reg/unknown:1", [*BASE, layer_spec("u", 10, 20)], cached=[None, False])
    result = check_pull_gate([unknown], 500_000)
    assert result.exceeded and result.unknown_layers == 1
    assert result.offenders == (("reg/unknown:1", 1_000_010),)
    assert result.reason.endswith("; 1 layer(s) with unknown cache state counted as pulled")


def test_without_a_baked_set_the_whole_image_counts() -> None:
    plain = image("reg/plain:1", [*BASE, layer_spec("p", 10, 20)])  # cached None everywhere
    result = check_pull_gate([plain], 1_000_009)
    assert result.exceeded and result.largest_pull_bytes == 1_000_010 and result.unknown_layers == 2


def test_no_images_and_bad_limits() -> None:
    assert check_pull_gate([], 0).reason == "no images to check"
    assert not check_pull_gate([], 0).exceeded
    with pytest.raises(UsageError):
        check_pull_gate([SMALL], -1)
    with pytest.raises(UsageError):
        check_pull_gate([SMALL], True)
