"""Pull-list writers: AWSTOE YAML, bash, PowerShell, text (a baked-set file), JSON; quoting that cannot be escaped."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from layerscope.errors import UsageError
from layerscope.plan import load_baked
from layerscope.plan.pulllist import FORMATS, SCHEMA, PullItem, pull_items, quote_powershell, write_pull_list

ECR = "123456789012.dkr.ecr.us-west-2.amazonaws.com/shop/web"
D1, D2 = "sha256:" + "a" * 64, "sha256:" + "b" * 64
REFS = [f"{ECR}:2.4@{D1}", f"mcr.microsoft.com/windows/servercore@{D2}"]
BASH = shutil.which("bash")


def items() -> list[PullItem]:
    return pull_items(REFS)


def test_pull_items() -> None:
    web, sc = items()
    assert (web.name, web.digest, web.tag) == (ECR, D1, "2.4")
    assert web.pinned == f"{ECR}@{D1}" and web.tagged == f"{ECR}:2.4"
    assert web.ecr == ("123456789012.dkr.ecr.us-west-2.amazonaws.com", "us-west-2")
    assert sc.tagged is None and sc.ecr is None
    assert pull_items([*REFS, REFS[0]]) == [web, sc]  # duplicates dropped
    assert PullItem.of(f"{ECR}:2.4", D1) == web
    with pytest.raises(UsageError, match="is not pinned to a digest") as err:
        PullItem.of(f"{ECR}:2.4")
    assert err.value.hint and "sha256" in err.value.hint
    with pytest.raises(UsageError, match="pinned to another digest"):
        PullItem.of(REFS[0], D2)
    with pytest.raises(UsageError, match="OCI layout"):
        PullItem.of(f"oci:/tmp/layout@{D1}")


@pytest.mark.parametrize("runtime", ["containerd", "docker"])
def test_awstoe_document(runtime: str) -> None:
    text = write_pull_list(items(), "awstoe", runtime=runtime)
    doc = yaml.safe_load(text)
    assert doc["name"] == "layerscope-prepull" and "2 digest-pinned" in doc["description"]
    assert doc["schemaVersion"] == 1.0
    assert [phase["name"] for phase in doc["phases"]] == ["build", "validate"]
    build, validate = (phase["steps"] for phase in doc["phases"])
    assert [s["name"] for s in build] == ["PullImage1", "PullImage2"]
    for step in [*build, *validate]:
        assert step["action"] == "ExecutePowerShell" and step["onFailure"] == "Abort"
        assert step["inputs"]["commands"][0] == "$ErrorActionPreference = 'Stop'"
    web, sc = (step["inputs"]["commands"] for step in build)
    checks = validate[0]["inputs"]["commands"]
    if runtime == "containerd":
        assert "$password = (Get-ECRLoginCommand -Region 'us-west-2').Password" in web
        assert f"& $ctr -n k8s.io images pull --user ('AWS:' + $password) '{ECR}@{D1}'" in web
        assert f"& $ctr -n k8s.io images tag --force '{ECR}@{D1}' '{ECR}:2.4'" in web
        assert f"& $ctr -n k8s.io images pull 'mcr.microsoft.com/windows/servercore@{D2}'" in sc
        assert not any("Get-ECRLoginCommand" in c for c in sc)  # MCR needs no login
        assert "$present = @(& $ctr -n k8s.io images ls -q)" in checks
        assert sum("-notcontains" in c for c in checks) == 2
    else:
        assert any("docker login --username AWS --password-stdin '123456789012.dkr" in c for c in web)
        assert f"docker pull '{ECR}@{D1}'" in web and f"docker tag '{ECR}@{D1}' '{ECR}:2.4'" in web
        assert f"docker image inspect '{ECR}@{D1}' | Out-Null" in checks
    # Every native command is followed by an exit-code check; AWSTOE's {{ }} variables never appear.
    assert all("Assert-Success" in b for a, b in itertools.pairwise(web) if "pull" in a and "'" in a)
    assert "{{" not in text and "}}" not in text


def test_text_round_trips_through_the_baked_set_loader(tmp_path: Path) -> None:
    path = tmp_path / "baked.txt"
    path.write_text(write_pull_list(items(), "text"))
    assert load_baked(path) == [item.pinned for item in items()]
    assert path.read_text().startswith("# layerscope pull list")


def test_json_pull_list(tmp_path: Path) -> None:
    text = write_pull_list(items(), "json", runtime="docker")
    doc = json.loads(text)
    assert doc["schema"] == SCHEMA and doc["runtime"] == "docker"
    assert doc["images"][0] == {"reference": f"{ECR}@{D1}", "digest": D1, "tag": f"{ECR}:2.4"}
    path = tmp_path / "baked.json"
    path.write_text(text)
    assert load_baked(path) == [item.pinned for item in items()]


def _stubs(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Fake ctr/docker/aws that log their arguments (NUL-separated, one call per line) and succeed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    listing = tmp_path / "images.txt"
    for tool in ("ctr", "docker", "aws"):
        script = bin_dir / tool
        script.write_text(
            "#!/usr/bin/env bash\n"
            # One locked append per call: `aws … | docker login` runs two stubs at once.
            f"{{ flock 9; printf '%s\\0' {tool} \"$@\" >> {log}; printf '\\n' >> {log}; }} 9>> {log}.lock\n"
            f'if [ "$*" = "-n k8s.io images ls -q" ]; then cat {listing}; fi\n'
            'if [ "$1 $2" = "ecr get-login-password" ]; then echo token; fi\n'
            'case " $* " in *" --password-stdin "*) cat >/dev/null;; esac\n'
        )
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return env, log


def _calls(log: Path) -> list[list[str]]:
    return [line.split("\0") for line in log.read_text().split("\0\n") if line]


@pytest.mark.skipif(BASH is None, reason="bash not installed")
@pytest.mark.parametrize("runtime", ["containerd", "docker"])
def test_shell_script_runs_the_pulls(tmp_path: Path, runtime: str) -> None:
    assert BASH is not None
    script = tmp_path / "pull.sh"
    script.write_text(write_pull_list(items(), "shell", runtime=runtime))
    subprocess.run([BASH, "-n", str(script)], check=True)
    env, log = _stubs(tmp_path)
    (tmp_path / "images.txt").write_text("".join(f"{i.pinned}\n" for i in items()))
    subprocess.run([BASH, str(script)], check=True, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL)
    calls = _calls(log)
    if runtime == "containerd":
        assert ["aws", "ecr", "get-login-password", "--region", "us-west-2"] in calls
        assert ["ctr", "-n", "k8s.io", "images", "pull", "--user", "AWS:token", f"{ECR}@{D1}"] in calls
        assert ["ctr", "-n", "k8s.io", "images", "tag", "--force", f"{ECR}@{D1}", f"{ECR}:2.4"] in calls
        # The check fails when an image is missing.
        (tmp_path / "images.txt").write_text(f"{ECR}@{D1}\n")
        failed = subprocess.run(
            [BASH, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        assert failed.returncode == 1 and "missing image: mcr.microsoft.com/windows/servercore" in failed.stderr
    else:
        assert ["docker", "login", "--username", "AWS", "--password-stdin", ECR.split("/")[0]] in calls
        assert ["docker", "pull", f"{ECR}@{D1}"] in calls and ["docker", "image", "inspect", f"{ECR}@{D1}"] in calls


NASTY = "evil.example/x';touch${IFS}pwned;echo'$(touch${IFS}pwned2)`touch${IFS}pwned3`\u2019;touch${IFS}pwned4;\u2018"


@pytest.mark.skipif(BASH is None, reason="bash not installed")
@pytest.mark.parametrize("runtime", ["containerd", "docker"])
def test_a_malicious_reference_cannot_break_out_of_the_shell_quoting(tmp_path: Path, runtime: str) -> None:
    assert BASH is not None
    item = PullItem(NASTY, D1, tag="t';touch${IFS}pwned5;'")
    script = tmp_path / "pull.sh"
    script.write_text(write_pull_list([item], "shell", runtime=runtime), encoding="utf-8")
    subprocess.run([BASH, "-n", str(script)], check=True)
    env, log = _stubs(tmp_path)
    (tmp_path / "images.txt").write_text(f"{item.pinned}\n", encoding="utf-8")
    subprocess.run([BASH, str(script)], check=True, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert not list(tmp_path.glob("pwned*"))
    tool = "ctr" if runtime == "containerd" else "docker"
    pulls = [c for c in _calls(log) if c[0] == tool and "pull" in c]
    assert pulls and pulls[0][-1] == item.pinned  # arrived as one argument, byte for byte


def _powershell_literals(line: str) -> list[str]:
    """The single-quoted string literals of a PowerShell line, decoded (a doubled quote is one quote)."""
    quotes = "'\u2018\u2019\u201a\u201b"
    out: list[str] = []
    i = 0
    while i < len(line):
        if line[i] not in quotes:
            i += 1
            continue
        i += 1
        text = ""
        while True:
            assert i < len(line), f"unterminated literal in {line!r}"
            if line[i] in quotes:
                if i + 1 < len(line) and line[i + 1] in quotes:
                    text += line[i]
                    i += 2
                    continue
                i += 1
                break
            text += line[i]
            i += 1
        out.append(text)
    return out


@pytest.mark.parametrize("runtime", ["containerd", "docker"])
def test_a_malicious_reference_stays_inside_powershell_quotes(runtime: str) -> None:
    item = PullItem(NASTY, D1)
    assert _powershell_literals(quote_powershell(NASTY)) == [NASTY]
    script = write_pull_list([item], "powershell", runtime=runtime)
    literals = [lit for line in script.splitlines() if not line.startswith("#") for lit in _powershell_literals(line)]
    assert literals.count(item.pinned) >= 3  # pull, its check, the presence check
    for line in script.splitlines():
        if item.pinned in line or "evil" in line:
            # Outside the literals only our own code remains: no trace of the reference's payload.
            outside = line
            for lit in _powershell_literals(line):
                outside = outside.replace(quote_powershell(lit), "''")
            assert ("touch" not in outside and "evil" not in outside) or line.startswith("#")
    doc = yaml.safe_load(write_pull_list([item], "awstoe", runtime=runtime))
    commands = doc["phases"][0]["steps"][0]["inputs"]["commands"]
    assert any(item.pinned in _powershell_literals(c) for c in commands)


def test_writers_refuse_whitespace_and_bad_options() -> None:
    with pytest.raises(UsageError, match="whitespace or control characters"):
        write_pull_list([PullItem("evil.example/x\nrm -rf /", D1)], "text")
    with pytest.raises(UsageError, match="unknown pull-list format 'xml'"):
        write_pull_list(items(), "xml")
    with pytest.raises(UsageError, match="unknown container runtime 'podman'"):
        write_pull_list(items(), "shell", runtime="podman")
    with pytest.raises(UsageError, match="the pull list is empty"):
        write_pull_list([], "awstoe")
    for fmt in FORMATS:
        assert write_pull_list(items(), fmt).endswith("\n")
