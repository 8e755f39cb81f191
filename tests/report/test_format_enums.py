"""Every `-o`/`--format` choice of recommend, pull-list, diff and profile is its renderer's enum, and renders."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum

import click
import pytest

from layerscope.cli.app import cli
from layerscope.diff import diff_images
from layerscope.plan.pulllist import PullListFormat, pull_items, write_pull_list
from layerscope.plan.recommend import Candidate, recommend
from layerscope.report.diff_view import DiffFormat, render_diff
from layerscope.report.profile_view import ProfileFormat, render_profile_list, render_profile_show
from layerscope.report.recommendation import RecommendFormat, render_recommendation
from tests.report.test_model import API, PROFILE, WEB

PULLS = pull_items(["reg.example/shop/web:2@sha256:" + "a" * 64, "reg.example/shop/api@sha256:" + "b" * 64])


def _choices(*path: str) -> list[str]:
    command: click.Command = cli
    ctx = click.Context(cli)
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(ctx, name)
        assert found is not None, name
        command = found
    (option,) = [p for p in command.params if p.name == "fmt"]
    assert isinstance(option.type, click.Choice)
    return list(option.type.choices)


RENDERERS: list[tuple[tuple[str, ...], type[StrEnum], Callable[[StrEnum], str]]] = [
    (
        ("recommend",),
        RecommendFormat,
        lambda f: render_recommendation(
            recommend([Candidate.from_image(WEB, 40), Candidate.from_image(API, 2)], PROFILE), RecommendFormat(f)
        ),
    ),
    (("pull-list",), PullListFormat, lambda f: write_pull_list(PULLS, PullListFormat(f))),
    (("diff",), DiffFormat, lambda f: render_diff(diff_images(WEB, API), DiffFormat(f))),
    (("profile", "list"), ProfileFormat, lambda f: render_profile_list([PROFILE], ProfileFormat(f))),
    (("profile", "show"), ProfileFormat, lambda f: render_profile_show(PROFILE, ProfileFormat(f))),
]


@pytest.mark.parametrize(("command", "enum", "render"), RENDERERS, ids=[" ".join(r[0]) for r in RENDERERS])
def test_every_format_choice_maps_to_its_own_renderer(
    command: tuple[str, ...], enum: type[StrEnum], render: Callable[[StrEnum], str]
) -> None:
    assert _choices(*command) == [f.value for f in enum]
    outputs = {fmt: render(fmt) for fmt in enum}
    assert all(text.endswith("\n") for text in outputs.values())
    assert len(set(outputs.values())) == len(outputs), "two choices render the same output"
    if "json" in outputs:
        assert json.loads(outputs[enum("json")])["schema"].startswith("layerscope.")
