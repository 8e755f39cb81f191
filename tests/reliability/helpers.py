"""Shared checks of the reliability tests: results equal independent truth, or one clean error line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.images import push, simple_image
from tests.support.push import PushedRef, Pusher
from tests.support.truth import LayerTruth, layer_truth

#: What an error looks like on stderr: one line, our prefix, never an internal error.
_ERROR_LINE = re.compile(r"^layerscope: error: .+$")


@dataclass(frozen=True)
class Pushed:
    """An image pushed to a registry, with the truth of its layers (computed by tests/support/truth.py)."""

    ref: PushedRef
    image: fixturegen.Image
    truths: tuple[LayerTruth, ...]

    def at(self, host: str) -> str:
        """The tag reference through another `host:port` (e.g. a fault proxy)."""
        return f"{host}/{self.ref.repo}:{self.ref.tag}"

    @property
    def layer_digests(self) -> list[str]:
        return [t.digest for t in self.truths]


def push_with_truth(pusher: Pusher, repo: str, tag: str, layers: Sequence[fixturegen.Layer], **image_kw: Any) -> Pushed:
    """Push an image of *layers* and compute the truth of each layer from its blob."""
    image = simple_image(layers, **image_kw)
    ref = push(pusher, repo, tag, image)
    return Pushed(ref, image, tuple(layer_truth(layer.blob.data) for layer in layers))


def assert_image_matches(doc: dict[str, Any], pushed: Pushed) -> None:
    """Every number of one `analyze -o json` image equals the independent truth."""
    assert doc["digest"] == pushed.image.digest
    assert doc["config_digest"] == pushed.image.config.digest
    assert len(doc["layers"]) == len(pushed.truths)
    for got, want in zip(doc["layers"], pushed.truths, strict=True):
        assert got["digest"] == want.digest
        assert got["compressed_bytes"] == want.size
        assert got["diff_id"] == want.diff_id
        assert got["compression"] == want.compression
        assert got["uncompressed_bytes"] == want.uncompressed_size
        assert got["extracted_bytes"] == want.extracted_bytes
        assert got["files"] == want.files
        assert got["dirs"] == want.dirs
        assert got["symlinks"] == want.symlinks
        assert got["hardlinks"] == want.hardlinks
        assert got["whiteouts"] == want.whiteouts
        assert got["size_source"] in ("measured", "store")
    assert doc["totals"]["compressed_bytes"] == sum(t.size for t in pushed.truths)
    assert doc["totals"]["uncompressed_bytes"] == sum(t.uncompressed_size for t in pushed.truths)
    assert doc["totals"]["extracted_bytes"] == sum(t.extracted_bytes for t in pushed.truths)


def assert_ok(run: Run, pushed: Pushed) -> None:
    """The run succeeded, printed no warning, and its JSON equals the truth."""
    assert run.exit_code == 0, run.stderr
    assert "Traceback" not in run.stderr
    images = run.json()["images"]
    assert len(images) == 1
    assert_image_matches(images[0], pushed)


def assert_one_line_error(run: Run, exit_code: int, *, contains: str | None = None) -> str:
    """The run failed with *exit_code*, one `layerscope: error:` line on stderr and nothing on stdout."""
    assert run.exit_code == exit_code, (run.exit_code, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert _ERROR_LINE.match(lines[0]), lines[0]
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert run.stdout == ""
    if contains is not None:
        assert contains in lines[0], lines[0]
    return lines[0]


def store_entries(layerscope: Any) -> int:
    """How many measurements `layerscope store stats` reports."""
    stats = layerscope("store", "stats")
    assert stats.exit_code == 0, stats.stderr
    m = re.search(r"^entries: (\d+)$", stats.stdout, re.MULTILINE)
    assert m, stats.stdout
    return int(m.group(1))


def cli_command() -> list[str]:
    """argv prefix that runs the `layerscope` console script of this venv in a child process."""
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "layerscope"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from layerscope.cli import main; main()"]


def cli_env(tmp_path: Any, store: Any) -> dict[str, str]:
    """Environment for a child `layerscope`: its own store, no credentials, no proxies, no terminal."""
    import os

    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        LAYERSCOPE_STORE=str(store),
        DOCKER_CONFIG=str(tmp_path / "docker-config"),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
    )
    env.pop("REGISTRY_AUTH_FILE", None)
    return env


# A wrapper process: its only child is the command, so RUSAGE_CHILDREN is the command's own peak RSS.
# (A child forked straight from pytest would report pytest's size: Linux keeps the RSS high-water mark
# of the forked image across exec.) Protocol: first line the child's pid, last line the usage, between
# them the child's stdout.
_WRAPPER = r"""
import json, resource, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
print(child.pid, flush=True)
out, err = child.communicate()
sys.stdout.write(out.decode("utf-8", "replace"))
sys.stderr.buffer.write(err)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print("\n" + json.dumps({"rc": child.returncode, "maxrss_kib": usage.ru_maxrss}), flush=True)
"""


def run_measured(
    argv: list[str], env: dict[str, str] | None = None, timeout: float = 600
) -> tuple[int, str, str, int, int]:
    """Run *argv* in a child: (exit code, stdout, stderr, peak RSS in KiB, most open fds seen)."""
    import json
    import os
    import subprocess
    import sys
    import threading
    import time

    wrapper = subprocess.Popen(
        [sys.executable, "-c", _WRAPPER, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert wrapper.stdout is not None
    pid = int(wrapper.stdout.readline())
    most = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal most
        while not done.is_set():
            try:
                most = max(most, len(os.listdir(f"/proc/{pid}/fd")))
            except OSError:
                return  # the process has exited
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = wrapper.communicate(timeout=timeout)
    done.set()
    sampler.join(5)
    body, _, last = out.rstrip("\n").rpartition("\n")
    usage = json.loads(last)
    return int(usage["rc"]), body.strip("\n"), err, int(usage["maxrss_kib"]), most
