"""Parsing recorded pulls (issue #16): both kubelet message formats, both event APIs, ECS tasks, bad input."""

from __future__ import annotations

import json

import pytest

from layerscope.calibrate import events as ev
from layerscope.errors import UsageError

OLD = 'Successfully pulled image "mcr.microsoft.com/windows/servercore:ltsc2019" in 6m0.7576396s'
NEW = 'Successfully pulled image "shop/web:2.4" in 1m2.5s (1m30s including waiting). Image size: 123456789 bytes.'


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6m0.7576396s", 360.7576396), ("850ms", 0.85), ("1h2m3s", 3723.0), ("1.5µs", 1.5e-6), ("2s", 2.0)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert ev.parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "6x", "m3s", "3s junk", "1.2.3s"])
def test_not_go_durations(text: str) -> None:
    assert ev.parse_go_duration(text) is None


def test_core_v1_old_and_new_messages() -> None:
    items = [
        {"reason": "Pulled", "message": OLD, "source": {"host": "node-a"}, "lastTimestamp": "2026-11-02T10:00:00Z"},
        {"reason": "Pulled", "message": NEW, "source": {"host": "node-b"}, "lastTimestamp": "2026-11-03T10:00:00Z"},
        {"reason": "Pulled", "message": 'Container image "x:1" already present on machine', "source": {"host": "n"}},
        {"reason": "Pulling", "message": 'Pulling image "x:1"', "source": {"host": "n"}},
        {"reason": "Pulled", "message": OLD, "source": {}},
    ]
    got = ev.parse_kubectl_events(json.dumps({"kind": "EventList", "items": items}))
    assert [(e.image, e.node, e.at) for e in got.events] == [
        ("mcr.microsoft.com/windows/servercore:ltsc2019", "node-a", "2026-11-02T10:00:00Z"),
        ("shop/web:2.4", "node-b", "2026-11-03T10:00:00Z"),
    ]
    # The pull itself, not the time "including waiting"; the runtime's size is kept.
    assert got.events[0].seconds == pytest.approx(360.7576396)
    assert got.events[1].seconds == pytest.approx(62.5) and got.events[1].size_bytes == 123456789
    assert got.skipped == {ev.ALREADY_PRESENT: 1, ev.OTHER_REASON: 1, ev.NO_NODE: 1}


def test_events_k8s_io_v1() -> None:
    item = {"reason": "Pulled", "note": OLD, "reportingInstance": "node-c", "eventTime": "2026-11-04T00:00:00Z"}
    got = ev.parse_kubectl_events(json.dumps({"apiVersion": "events.k8s.io/v1", "items": [item]}))
    assert [(e.node, e.at) for e in got.events] == [("node-c", "2026-11-04T00:00:00Z")]


def test_truncated_file_keeps_the_complete_items() -> None:
    item = {"reason": "Pulled", "message": OLD, "source": {"host": "node-a"}}
    text = json.dumps({"items": [item, item, item]})
    got = ev.parse_kubectl_events(text[:-30])
    assert len(got.events) == 2 and got.skipped == {ev.TRUNCATED: 1}


@pytest.mark.parametrize("text", ["", "not json", '{"kind": "Pod"}', "{"])
def test_unusable_files_are_one_line_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        ev.parse_kubectl_events(text, "--events f.json")


def test_ecs_tasks() -> None:
    tasks = [
        {
            "taskArn": "arn:t1",
            "containerInstanceArn": "arn:ci1",
            "pullStartedAt": 1700000000.0,
            "pullStoppedAt": 1700000361.5,
            "containers": [{"image": "shop/web:2.4", "imageDigest": "sha256:" + "a" * 64}],
        },
        {
            "taskArn": "arn:t2",
            "pullStartedAt": "2026-11-02T10:00:00Z",
            "pullStoppedAt": "2026-11-02T10:01:00Z",
            "containers": [{"image": "a:1"}, {"image": "b:1"}],
        },
        {"taskArn": "arn:t3", "containers": [{"image": "a:1"}]},
    ]
    got = ev.parse_ecs_tasks(json.dumps({"tasks": tasks, "failures": []}))
    assert [(e.image, e.node, e.seconds) for e in got.events] == [
        ("shop/web:2.4@sha256:" + "a" * 64, "arn:ci1", pytest.approx(361.5))
    ]
    assert got.events[0].at is not None and got.events[0].at.startswith("2023-11-14")
    assert got.skipped == {ev.ECS_MANY: 1, ev.ECS_NO_PULL: 1}
