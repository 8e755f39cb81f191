"""The commands the README and docs/*.md show, and how to run them against the fixtures (#18 "Done when").

A command is a line of a fenced code block (any info string) that starts with `layerscope ` or `$ layerscope `.
In a `$ `-style block the lines after a command, up to the next `$ ` line, are the output the docs promise:
every line shown must appear in the real output, in that order (other lines may come between); `…` stands for
elided text (a whole line of `…` skips any lines). A following `$ echo $?` and number is the exit code promised;
otherwise a command shown with `layerscope: error:` output must fail, and every other command must exit 0.

Synopsis lines (`layerscope analyze REF... [--platform …]`, `catalog list|show NAME|refresh`) are usage, not
commands, and are skipped. Placeholders and example hosts are replaced by SUBSTITUTIONS (in that order).
Nothing here imports layerscope.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SKIPPED", "DocCommand", "DocFile", "commands_in", "output_mismatch", "substitute"]

_FENCE = re.compile(r"^\s*(```+|~~~+)")
_FILE_BLOCK = re.compile(r"#\s*([\w.-]+\.(?:ya?ml|json|txt))\b")


@dataclass(frozen=True)
class DocFile:
    """A code block whose first line is `# NAME.yaml…`: the docs ask the reader to save it as NAME.yaml."""

    file: str
    line: int
    name: str
    content: str


@dataclass(frozen=True)
class DocCommand:
    """One command as the docs show it."""

    file: str
    line: int
    text: str  # as written, without `$ ` and without a trailing `# comment`
    output: tuple[str, ...] = ()
    exit_code: int | None = None  # promised by `$ echo $?`, else None
    shows_error: bool = field(default=False)

    @property
    def where(self) -> str:
        """`README.md:91`."""
        return f"{self.file}:{self.line}"


def _is_synopsis(text: str) -> bool:
    """Usage lines: `[--opt …]`, `REF...`, `list|show` alternatives (a shell pipe has spaces around `|`)."""
    return bool(re.search(r"\[-|\[[A-Z]|\.\.\.|…|[\w)\]]\|[\w(\[-]", text))


def _strip_comment(text: str) -> str:
    """The command without a trailing shell comment (`  # what it does`); a `#` inside quotes stays."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i].rstrip()
    return text.strip()


def commands_in(path: Path, root: Path) -> Iterator[DocCommand | DocFile]:
    """Every command in the fenced code blocks of *path* (named relative to *root*), and the files the docs
    ask the reader to save, in the order they come."""
    lines = path.read_text(encoding="utf-8").splitlines()
    name = str(path.relative_to(root))
    in_block = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_block = not in_block
            i += 1
            saved = _FILE_BLOCK.match(lines[i].strip()) if in_block and i < len(lines) else None
            if saved:
                end = next((j for j in range(i, len(lines)) if _FENCE.match(lines[j])), len(lines))
                yield DocFile(name, i + 1, saved.group(1), "\n".join(lines[i:end]) + "\n")
            continue
        stripped = line.strip()
        dollar = stripped.startswith("$ layerscope ")
        if not in_block or not (dollar or stripped.startswith("layerscope ")):
            i += 1
            continue
        text = _strip_comment(stripped[2:] if dollar else stripped)
        start = i + 1
        output: list[str] = []
        exit_code = None
        i += 1
        while dollar and i < len(lines) and not _FENCE.match(lines[i]) and not lines[i].lstrip().startswith("$ "):
            output.append(lines[i])
            i += 1
        if dollar and i + 1 < len(lines) and lines[i].strip() == "$ echo $?" and lines[i + 1].strip().isdigit():
            exit_code = int(lines[i + 1].strip())
            i += 2
        while output and not output[-1].strip():
            output.pop()
        if _is_synopsis(text):
            continue
        shows_error = any(o.startswith("layerscope: error:") for o in output)
        yield DocCommand(name, start, text, tuple(output), exit_code, shows_error)


#: (pattern, replacement) applied in order; `{REGISTRY}` is the test registry's host:port. Example hosts
#: become the test registry, which holds the fixture images under the documented names (tests/cli/
#: test_docs_commands.py pushes them); placeholders become fixture images or files the test writes.
SUBSTITUTIONS: tuple[tuple[str, str], ...] = (
    (r"123456789012\.dkr\.ecr\.us-west-2\.amazonaws\.com", "{REGISTRY}"),  # an ECR registry
    (r"registry\.internal:5000", "{REGISTRY}"),
    (r"127\.0\.0\.1:5000", "{REGISTRY}"),  # "a local registry standing in for MCR"
    (r"localhost:5000", "{REGISTRY}"),
    (r"mcr\.microsoft\.com/dotnet/framework/aspnet:4\.8", "{REGISTRY}/dotnet/framework/aspnet:4.8"),
    (r"(?<![\w./:=-])(shop/\w+:[\w.]+)", "{REGISTRY}/\\1"),
    (r"(?<![\w./:=-])REPO:TAG\b", "{REGISTRY}/shop/web:2.4"),
    (r"(?<![\w./:=-])(IMAGE|REF|REF_A)(?![\w.-])", "oci:fixtures/layout:windows-app"),
    (r"(?<![\w./:=-])REF_B(?![\w.-])", "oci:fixtures/layout:servercore-ltsc2019-2022-09"),
    (r"(?<=--nodes )nodes\.json\b", "fixtures/nodes.json"),
)

#: Commands the test does not run, each with its reason (reviewed: keep this list short).
SKIPPED: dict[str, str] = {
    r"--executor dask://": "needs a running Dask scheduler (tests/fleet covers the executor with a LocalCluster)",
    r"--ami (latest|ami-)": "needs AWS (EC2 DescribeImages / SSM); tests/integration cover it with an emulator",
    r"--events events\.json|ours\.yaml": (
        "calibrate needs a cluster's recorded pulls (at least 5 usable); tests/integration/test_calibrate.py runs"
        " calibrate, --write-profile and report --events on events generated from the launch model"
    ),
}


def substitute(text: str, registry: str) -> str:
    """The command with placeholders and example hosts replaced for the test registry *registry*."""
    for pattern, replacement in SUBSTITUTIONS:
        text = re.sub(pattern, replacement.replace("{REGISTRY}", registry), text)
    return text


def _line_pattern(shown: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in shown.rstrip().split("…")]
    return re.compile("^" + ".*".join(parts) + r"\s*$")


def output_mismatch(shown: tuple[str, ...], actual: str) -> str | None:
    """None when every shown line is in *actual* in order (`…` elides text), else the first line not found."""
    lines = actual.splitlines()
    at = 0
    for want in shown:
        if not want.strip() or want.strip() == "…":
            continue
        pattern = _line_pattern(want)
        while at < len(lines) and not pattern.match(lines[at].rstrip()):
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None
