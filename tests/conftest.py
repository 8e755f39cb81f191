"""Shared pytest fixtures: real registries, an independent pusher, fixture images and ground truth.

Session fixtures (started once, stopped at the end of the session):

- `registry`: a CNCF distribution registry on 127.0.0.1 without auth (`.host`, `.url`, `.mark()`,
  `.requests(since)`, `.blob_gets(since, repo=, digest=)`).
- `auth_registry`: the same with token auth backed by `token_issuer` (`.user`, `.password`, `.issuer`;
  the issuer also knows the pull-only user `reader` / `reader-password`).
- `basic_registry`: the same with htpasswd (HTTP Basic) auth (`.user`, `.password`).
- `fixture_layout`: path of the OCI image layout with the fixture images (fixtures/layout).
- `fixture_set`: the same images built in memory by scripts/fixturegen.py (blobs, declared truth).
- `pushed_fixtures` / `auth_pushed_fixtures`: every fixture tag pushed to `layerscope/fixtures:<tag>`
  on `registry` / `auth_registry`, as `{tag: PushedRef}`.

Function fixtures: `pusher`, `auth_pusher`, `basic_pusher` (tests/support/push.py) and `repo_name`
(a repository name unique to the test).

The registry binary is `docker-registry` (Debian package) or $LAYERSCOPE_REGISTRY_BIN. Without it the
registry tests are skipped with the reason — and fail when CI=true.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests.support` and `scripts.fixturegen` import from the checkout

from scripts import fixturegen  # noqa: E402
from tests.support.paths import FIXTURE_LAYOUT  # noqa: E402
from tests.support.push import PushedRef, Pusher  # noqa: E402
from tests.support.registry import (  # noqa: E402
    HTPASSWD_PASSWORD,
    HTPASSWD_USER,
    RegistryProcess,
    TokenIssuer,
    free_port,
    htpasswd_auth_config,
    require_registry_binary,
    token_auth_config,
)

FIXTURE_REPO = "layerscope/fixtures"


@pytest.fixture(autouse=True)
def validate_json_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `layerscope.analysis/v1`, `layerscope.recommendation/v1` and `layerscope.report/v1` document a test
    makes (to stdout or --output) is validated against the JSON Schema shipped in the package (#12 item 14)."""
    from layerscope.plan.recommend import Recommendation
    from layerscope.report import analysis_json, fleet_json, recommendation
    from tests.support.schemas import validate_document

    analysis_document = analysis_json.analysis_document
    recommendation_document = recommendation.recommendation_document
    report_document = fleet_json.report_document

    def checked_analysis(run: Any) -> dict[str, Any]:
        doc = analysis_document(run)
        validate_document(doc)
        return doc

    def checked_recommendation(rec: Recommendation) -> dict[str, Any]:
        doc = recommendation_document(rec)
        validate_document(doc)
        return doc

    def checked_report(report: Any) -> dict[str, Any]:
        doc = report_document(report)
        validate_document(doc)
        return doc

    monkeypatch.setattr(analysis_json, "analysis_document", checked_analysis)
    monkeypatch.setattr(fleet_json, "report_document", checked_report)
    monkeypatch.setattr(recommendation, "recommendation_document", checked_recommendation)


@pytest.fixture(scope="session")
def registry_binary() -> str:
    """Path of the distribution registry binary; skip (locally) or fail (CI=true) when it is missing."""
    return require_registry_binary()


@pytest.fixture(scope="session")
def registry(registry_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """A registry without auth on 127.0.0.1:<free port>."""
    with RegistryProcess(tmp_path_factory.mktemp("registry"), binary=registry_binary, name="registry") as reg:
        yield reg


@pytest.fixture(scope="session")
def token_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenIssuer]:
    """The token issuer behind `auth_registry` (users `tester` and pull-only `reader`)."""
    with TokenIssuer(tmp_path_factory.mktemp("issuer")) as issuer:
        yield issuer


@pytest.fixture(scope="session")
def auth_registry(
    registry_binary: str, token_issuer: TokenIssuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryProcess]:
    """A registry with token auth; `.user`/`.password` may push and pull, `.issuer` logs token requests."""
    workdir = tmp_path_factory.mktemp("auth-registry")
    reg = RegistryProcess(workdir, binary=registry_binary, auth=token_auth_config(token_issuer), name="auth-registry")
    reg.user, reg.password = "tester", token_issuer.users["tester"].password
    reg.issuer = token_issuer
    with reg:
        yield reg


@pytest.fixture(scope="session")
def basic_registry(registry_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """A registry with htpasswd (HTTP Basic) auth."""
    workdir = tmp_path_factory.mktemp("basic-registry")
    reg = RegistryProcess(workdir, binary=registry_binary, auth=htpasswd_auth_config(workdir), name="basic-registry")
    reg.user, reg.password = HTPASSWD_USER, HTPASSWD_PASSWORD
    with reg:
        yield reg


@pytest.fixture
def pusher(registry: RegistryProcess) -> Iterator[Pusher]:
    with Pusher(registry.url) as p:
        yield p


@pytest.fixture
def auth_pusher(auth_registry: RegistryProcess) -> Iterator[Pusher]:
    with Pusher(auth_registry.url, username=auth_registry.user, password=auth_registry.password) as p:
        yield p


@pytest.fixture
def basic_pusher(basic_registry: RegistryProcess) -> Iterator[Pusher]:
    with Pusher(basic_registry.url, username=basic_registry.user, password=basic_registry.password) as p:
        yield p


_repo_counter = 0


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    """A repository name unique to this test, e.g. `t/test-push-roundtrip-3`."""
    global _repo_counter
    _repo_counter += 1
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60].strip("-")
    return f"t/{name}-{_repo_counter}"


@pytest.fixture(scope="session")
def fixture_set() -> fixturegen.FixtureSet:
    """The fixture images built in memory (same bytes as fixtures/layout)."""
    return fixturegen.build_fixture_set()


@pytest.fixture(scope="session")
def fixture_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checked-in OCI layout fixtures/layout (written to a temp dir if the checkout lacks it)."""
    if (FIXTURE_LAYOUT / "index.json").is_file():
        return FIXTURE_LAYOUT
    out = tmp_path_factory.mktemp("layout")
    fixturegen.write_layout(out)
    return out


def _push_all(reg: RegistryProcess, layout: Path, username: str | None, password: str | None) -> dict[str, PushedRef]:
    with Pusher(reg.url, username=username, password=password) as p:
        return {tag: p.push_layout(layout, tag, FIXTURE_REPO) for tag in fixturegen.TAGS}


@pytest.fixture(scope="session")
def pushed_fixtures(registry: RegistryProcess, fixture_layout: Path) -> dict[str, PushedRef]:
    """Every fixture tag pushed to `<registry>/layerscope/fixtures:<tag>`."""
    return _push_all(registry, fixture_layout, None, None)


@pytest.fixture(scope="session")
def auth_pushed_fixtures(auth_registry: RegistryProcess, fixture_layout: Path) -> dict[str, PushedRef]:
    """Every fixture tag pushed to `<auth_registry>/layerscope/fixtures:<tag>`."""
    return _push_all(auth_registry, fixture_layout, auth_registry.user, auth_registry.password)


# Property tests run on a loaded 2-core CI machine: no per-example deadline (timing is not what they test).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("layerscope", deadline=None)
_hypothesis_settings.load_profile("layerscope")


@dataclass(frozen=True)
class AwsEmulator:
    """moto's server mode on 127.0.0.1 (tests/support/aws_emulator.py): its endpoint and the AMI IDs it lists."""

    endpoint: str
    ami_ids: dict[str, str]


@pytest.fixture(scope="session")
def aws_emulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsEmulator]:
    """Start the emulator once per session (a subprocess, stopped at the end); skip when moto is missing."""
    pytest.importorskip("moto.server", reason="moto[server] (test extra) is needed for the AWS API emulator")
    port = free_port()
    ready = tmp_path_factory.mktemp("aws") / "ready.json"
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.aws_emulator", str(port), str(ready)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the AWS emulator did not start")
            time.sleep(0.1)
        yield AwsEmulator(f"http://127.0.0.1:{port}", json.loads(ready.read_text()))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def aws_emulator(aws_emulator_process: AwsEmulator, monkeypatch: pytest.MonkeyPatch) -> AwsEmulator:
    """boto3 pointed at the emulator with fake credentials: never a real AWS endpoint."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_emulator_process.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    return aws_emulator_process
