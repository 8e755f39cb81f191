"""Network faults between layerscope and a real registry, injected by tests/support/faultproxy.py.

End to end through the CLI (`layerscope analyze 127.0.0.1:PROXYPORT/…`): every case ends with the
truth (computed independently from the pushed blobs) or one error line with the documented exit code
(layerscope/errors.py) — never a traceback, a wrong number, a stored bad blob or a partial output file.
The CLI sleeps for real, so faults use `Retry-After: 0/1` or fail once; the unbounded variants ("fails
forever") run against `RegistryClient` with an injected sleep, which records the waits instead.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from layerscope.errors import (
    InvalidManifestError,
    RegistryError,
    RegistryUnavailableError,
)
from layerscope.oci import Descriptor, MediaType
from layerscope.reference import parse_reference
from layerscope.registry import RegistryClient, RegistryConfig, RetryPolicy, Timeouts
from layerscope.registry.credentials import Credentials
from layerscope.store import MeasurementStore
from tests.integration.conftest import Run
from tests.reliability.helpers import Pushed, assert_ok, assert_one_line_error, store_entries
from tests.support.faultproxy import FaultProxy
from tests.support.push import PushedRef
from tests.support.registry import RegistryProcess, TokenIssuer

Layerscope = Callable[..., Run]
ZERO = "sha256:" + "0" * 64


def _blob(pushed: Pushed, i: int = 0) -> str:
    return f"/blobs/{pushed.truths[i].digest}$"


def _stored(digests: list[str]) -> list[str]:
    """Which of *digests* the test's measurement store (LAYERSCOPE_STORE, tests/integration/conftest.py) holds."""
    store = MeasurementStore(Path(os.environ["LAYERSCOPE_STORE"]))
    try:
        return [d for d in digests if store.get(d) is not None]
    finally:
        store.close()


# -- cut and reset mid-blob: resumed with Range, verified ------------------------------------------------


@pytest.mark.parametrize("kind", ["cut", "reset"])
def test_blob_cut_mid_stream_is_resumed_with_range(
    kind: str, proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    getattr(proxy, kind)(_blob(fault_image), after=100_000)
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)
    calls = proxy.calls(_blob(fault_image))
    assert len(calls) == 2
    assert calls[0].body_bytes == 100_000 and not calls[0].finished
    assert calls[1].status == 206 and calls[1].finished
    # After a clean close the client has every byte sent; after a reset the kernel drops what it had
    # not yet read, so the resume starts earlier — never later.
    resumed_at = int((calls[1].header("range") or "")[len("bytes=") : -1])
    assert resumed_at == 100_000 if kind == "cut" else 0 < resumed_at <= 100_000


def test_connection_reset_before_the_answer_is_retried(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.reset("/manifests/")
    proxy.reset(_blob(fault_image, 1))
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)
    assert len(proxy.calls("/manifests/")) == 2 and len(proxy.calls(_blob(fault_image, 1))) == 2


def test_registry_ignoring_range_is_read_again_from_the_start(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.ignore_range(_blob(fault_image))
    proxy.cut(_blob(fault_image), after=150_000)
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)
    calls = proxy.calls(_blob(fault_image))
    assert [c.status for c in calls] == [200, 200]
    assert calls[1].header("range") == "bytes=150000-"  # asked for, stripped by the proxy
    assert calls[1].body_bytes == fault_image.truths[0].size  # the whole blob came again


def test_cut_twice_in_a_row_still_converges(proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope) -> None:
    proxy.cut(_blob(fault_image), after=60_000, times=3)
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)
    ranges = [c.header("range") for c in proxy.calls(_blob(fault_image))]
    assert ranges == [None, "bytes=60000-", "bytes=120000-", "bytes=180000-"]


# -- 429 and 5xx ---------------------------------------------------------------------------------------


def test_429_with_retry_after_waits_that_long(proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope) -> None:
    proxy.status("/manifests/", 429, retry_after="1")
    start = time.monotonic()
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)
    assert time.monotonic() - start >= 0.95
    calls = proxy.calls("/manifests/")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].received - calls[0].received >= 0.95  # the wait came between the two requests


def test_429_without_retry_after_backs_off(proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope) -> None:
    proxy.status(_blob(fault_image, 2), 429)
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)
    calls = proxy.calls(_blob(fault_image, 2))
    assert [c.status for c in calls] == [429, 200]
    # It backed off: the first retry waits base_delay with equal jitter, so at least half of base_delay.
    policy = RetryPolicy()
    assert calls[1].received - calls[0].received >= policy.base_delay / 2 - 0.01
    assert calls[1].received - calls[0].received <= policy.base_delay + 2


def test_retry_after_is_honoured_between_requests(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    # Two 503s, each asking for 1 s: the proxy sees the requests at least that far apart.
    proxy.status(_blob(fault_image, 1), 503, retry_after="1", times=2)
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)
    calls = proxy.calls(_blob(fault_image, 1))
    assert [c.status for c in calls] == [503, 503, 200]
    gaps = [b.received - a.received for a, b in itertools.pairwise(calls)]
    assert all(gap >= 0.95 for gap in gaps), gaps


def test_5xx_flapping_then_success(proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope) -> None:
    proxy.status(_blob(fault_image), 503, retry_after="0", times=3)
    proxy.status(r"/blobs/" + fault_image.image.config.digest, 500, times=1)
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)
    assert [c.status for c in proxy.calls(_blob(fault_image))] == [503, 503, 503, 200]


def test_429_forever_is_exit_5_after_bounded_attempts(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope, tmp_path: Path
) -> None:
    proxy.status("/manifests/", 429, retry_after="0", times=None)
    out = tmp_path / "out.json"
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json", "--output", str(out))
    line = assert_one_line_error(run, 5, contains="HTTP 429")
    assert "gave up" in line
    assert len(proxy.calls("/manifests/")) == RetryPolicy().max_attempts
    assert not out.exists() and list(tmp_path.glob(".out.json*")) == []


def test_429_asking_for_an_hour_fails_at_once(proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope) -> None:
    proxy.status("/manifests/", 429, retry_after="3600", times=None)
    start = time.monotonic()
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json")
    assert_one_line_error(run, 5, contains="asks to wait 3600s")
    assert time.monotonic() - start < 5 and len(proxy.calls("/manifests/")) == 1


def test_5xx_forever_on_a_blob_is_exit_5_and_nothing_is_stored(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.status(_blob(fault_image), 503, retry_after="0", times=None)
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json")
    assert_one_line_error(run, 5, contains="HTTP 503")
    assert len(proxy.calls(_blob(fault_image))) == RetryPolicy().max_attempts
    # The failed layer is not stored (the layers that did measure may be: they are right).
    assert _stored([fault_image.truths[0].digest]) == []


# -- slow responses and --timeout ------------------------------------------------------------------------


def test_slow_answer_times_out_and_is_retried(proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope) -> None:
    proxy.delay(_blob(fault_image), 5.0)
    start = time.monotonic()
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json", "--timeout", "0.5")
    assert_ok(run, fault_image)
    assert time.monotonic() - start < 4.0  # did not wait for the 5 s answer
    assert len(proxy.calls(_blob(fault_image))) == 2


def test_stall_mid_body_times_out_and_resumes(proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope) -> None:
    proxy.delay(_blob(fault_image), 5.0, after=120_000)
    start = time.monotonic()
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json", "--timeout", "0.5")
    assert_ok(run, fault_image)
    assert time.monotonic() - start < 4.0
    calls = proxy.calls(_blob(fault_image))
    assert len(calls) == 2 and calls[1].header("range") == "bytes=120000-"


def test_timeout_flag_is_validated(fault_image: Pushed, proxy: FaultProxy, layerscope: Layerscope) -> None:
    run = layerscope("analyze", fault_image.at(proxy.host), "--timeout", "0")
    assert run.exit_code == 2 and "Traceback" not in run.stderr
    assert proxy.log == []


# -- lying headers ----------------------------------------------------------------------------------------


def test_wrong_docker_content_digest_on_a_manifest_is_caught(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope, tmp_path: Path
) -> None:
    proxy.set_header("/manifests/", "Docker-Content-Digest", ZERO)
    out = tmp_path / "out.json"
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json", "--output", str(out))
    assert_one_line_error(run, 1, contains="content hashes to")
    assert store_entries(layerscope) == 0
    assert list(tmp_path.glob("*out.json*")) == []


def test_wrong_docker_content_digest_on_a_blob_is_harmless(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    # A blob is verified against the digest it was asked for; the header is not evidence either way.
    proxy.set_header("/blobs/", "Docker-Content-Digest", ZERO)
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)


@pytest.mark.parametrize("delta", [+5000, -5000])
def test_content_length_lie_on_a_blob_is_survived(
    delta: int, proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.set_header(_blob(fault_image), "Content-Length", lambda v: str(int(v or 0) + delta), times=1)
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)
    calls = proxy.calls(_blob(fault_image))
    if delta > 0:
        # Every promised byte came before the connection died: nothing to resume, the digest decides.
        assert len(calls) == 1
    else:
        # The body stopped short of the descriptor's size: the rest is fetched with Range.
        assert len(calls) == 2 and calls[1].header("range") == f"bytes={fault_image.truths[0].size + delta}-"


def test_content_length_too_long_on_a_manifest_is_retried(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.set_header("/manifests/", "Content-Length", lambda v: str(int(v or 0) + 10), times=1)
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)


def test_content_length_too_short_on_a_manifest_is_a_digest_error(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.set_header("/manifests/", "Content-Length", lambda v: str(int(v or 0) - 10))
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json")
    assert_one_line_error(run, 1, contains="content hashes to")


def test_wrong_bytes_for_a_blob_are_caught_and_not_stored(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope, tmp_path: Path
) -> None:
    good = fault_image.image.layers[1]
    proxy.replace_body(_blob(fault_image, 1), bytes(reversed(good.blob.data)))  # same length, wrong bytes
    out = tmp_path / "out.json"
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json", "--output", str(out))
    assert_one_line_error(run, 1, contains="content hashes to")
    assert not out.exists()
    assert _stored([good.blob.digest]) == []  # the wrong bytes left no measurement under the right digest
    # The next run, with an honest registry, is right and measures the layer afresh.
    proxy.clear()
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)


# -- redirects ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/manifests/", "/blobs/"])
def test_redirect_loop_is_a_clean_error(
    path: str, proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.redirect_loop(path)
    start = time.monotonic()
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json")
    assert_one_line_error(run, 1, contains="too many redirects")
    assert time.monotonic() - start < 5
    assert 10 <= len(proxy.calls(path)) <= 12  # httpx's max_redirects, not retried
    assert store_entries(layerscope) == 0


def test_redirect_to_the_same_registry_is_followed(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.redirect(_blob(fault_image), lambda p: p + "?redirected=1")
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)


# -- RegistryClient against the proxy with an injected sleep: bounded in count and time -------------------


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _client(sleeps: Sleeps, **config: object) -> RegistryClient:
    return RegistryClient(RegistryConfig(**config), sleep=sleeps)  # type: ignore[arg-type]


def _descriptor(pushed: Pushed, i: int = 0) -> Descriptor:
    t = pushed.truths[i]
    return Descriptor(MediaType.OCI_LAYER_GZIP, t.digest, t.size)


def test_blob_cut_every_time_gives_up_after_bounded_attempts(proxy: FaultProxy, fault_image: Pushed) -> None:
    # Every response is cut after 1 kB: progress, but so little that it must not buy fresh budgets forever.
    proxy.cut(_blob(fault_image), after=1000, times=None)
    sleeps = Sleeps()
    ref = parse_reference(fault_image.at(proxy.host))
    with (
        _client(sleeps) as client,
        pytest.raises(RegistryUnavailableError, match="download cut"),
        client.open_blob(ref, _descriptor(fault_image)) as chunks,
    ):
        for _ in chunks:
            pass
    calls = proxy.calls(_blob(fault_image))
    assert len(calls) <= 2 * RetryPolicy().max_attempts
    assert len(sleeps) == len(calls) - 1 and sum(sleeps) <= RetryPolicy().max_total


def test_5xx_forever_is_bounded(proxy: FaultProxy, fault_image: Pushed) -> None:
    proxy.status("/manifests/", 503, times=None)
    sleeps = Sleeps()
    with _client(sleeps) as client, pytest.raises(RegistryUnavailableError, match="after 5 attempts"):
        client.get_manifest(parse_reference(fault_image.at(proxy.host)))
    assert len(proxy.calls("/manifests/")) == 5 and len(sleeps) == 4
    assert all(0 < s <= RetryPolicy().max_delay for s in sleeps)


def test_slow_forever_is_bounded(proxy: FaultProxy, fault_image: Pushed) -> None:
    proxy.delay("/manifests/", 10.0, times=None)
    sleeps = Sleeps()
    start = time.monotonic()
    timeouts = Timeouts(connect=0.3, read=0.3, write=0.3)
    with _client(sleeps, timeouts=timeouts) as client, pytest.raises(RegistryUnavailableError, match="read timeout"):
        client.get_manifest(parse_reference(fault_image.at(proxy.host)))
    assert len(proxy.calls("/manifests/")) == 5
    assert time.monotonic() - start < 5 * 0.3 + 2


def test_redirect_loop_is_not_retried(proxy: FaultProxy, fault_image: Pushed) -> None:
    proxy.redirect_loop("/manifests/")
    sleeps = Sleeps()
    with _client(sleeps) as client, pytest.raises(RegistryError, match="too many redirects"):
        client.get_manifest(parse_reference(fault_image.at(proxy.host)))
    assert sleeps == []


# -- hostile bodies: encodings and sizes httpx would handle without a bound --------------------------------


def zstd_zeros(blocks: int) -> bytes:
    """A zstd frame of *blocks* RLE blocks of 128 KiB zeros: 4 bytes each, so 32 768:1 (RFC 8878 §3.1.1.2)."""
    header = b"\x28\xb5\x2f\xfd" + bytes([0x00, 0x38])  # no content size; window 2**17 (exponent 7)
    block = ((128 * 1024) << 3 | 1 << 1).to_bytes(3, "little") + b"\x00"
    last = ((128 * 1024) << 3 | 1 << 1 | 1).to_bytes(3, "little") + b"\x00"
    return header + block * (blocks - 1) + last


def test_gzip_encoded_manifest_from_an_honest_server_is_read(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.gzip_body("/manifests/")
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)
    assert proxy.calls("/manifests/")[0].header("accept-encoding") == "gzip, deflate"  # no br/zstd offered


def test_zstd_content_encoding_bomb_on_a_manifest_is_refused_without_inflating(
    proxy: FaultProxy, fault_image: Pushed
) -> None:
    import tracemalloc

    bomb = zstd_zeros(8 * 1024)  # 1 GiB of zeros in 32 kB
    proxy.respond(
        "/manifests/", 200, headers={"Content-Encoding": "zstd", "Content-Type": "application/json"}, body=bomb
    )
    tracemalloc.start()
    try:
        with _client(Sleeps()) as client, pytest.raises(RegistryError, match="does not decode"):
            client.get_manifest(parse_reference(fault_image.at(proxy.host)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, f"peak traced memory {peak} bytes"


def test_gzip_content_encoding_bomb_stops_at_the_manifest_cap(proxy: FaultProxy, fault_image: Pushed) -> None:
    import gzip
    import tracemalloc

    bomb = gzip.compress(bytes(256 << 20), compresslevel=9)  # 256 MiB of zeros in ~250 kB
    proxy.respond("/manifests/", 200, headers={"Content-Encoding": "gzip"}, body=bomb)
    tracemalloc.start()
    try:
        with _client(Sleeps()) as client, pytest.raises(InvalidManifestError, match="limit"):
            client.get_manifest(parse_reference(fault_image.at(proxy.host)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"peak traced memory {peak} bytes"


@pytest.mark.parametrize(
    ("status", "exit_code"),
    [
        # The documented exit codes (DESIGN.md, errors.py), pinned as numbers: a test reading them from the
        # error classes would follow a wrong change.
        (307, 4),  # followed to /v2/, which answers 404: not found
        (401, 3),  # authentication
        (503, 5),  # unavailable, after the bounded retries
    ],
)
def test_endless_bodies_of_responses_httpx_reads_itself_are_cut(
    status: int, exit_code: int, proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    headers = {"Location": "/v2/", "WWW-Authenticate": 'Basic realm="x"', "Retry-After": "0"}
    proxy.big_body("/manifests/", status, 2 << 30, headers=headers, times=None)  # 2 GiB, no Content-Length
    proxy.status("/v2/$", 404, times=None)
    start = time.monotonic()
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json", "--timeout", "5")
    assert_one_line_error(run, exit_code)
    assert time.monotonic() - start < 20
    # The client stopped reading long before the end (socket buffers hold a few MB at most).
    assert all(c.body_bytes < 64 << 20 for c in proxy.calls("/manifests/"))


def test_non_ascii_retry_after_is_ignored_not_a_crash(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.status("/manifests/", 429, retry_after="\xb2")  # '²' once decoded: str.isdigit() says True
    assert_ok(layerscope("analyze", fault_image.at(proxy.host), "-o", "json"), fault_image)


def test_redirect_to_an_impossible_host_name_is_a_clean_error(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.redirect(_blob(fault_image), "http://" + "a" * 64 + ".invalid/blob", times=None)
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json")
    assert_one_line_error(run, 1, contains="not a valid DNS name")


def test_silent_token_service_times_out(
    auth_registry: RegistryProcess, auth_pushed_fixtures: dict[str, PushedRef], token_issuer: TokenIssuer
) -> None:
    """The token request gets the same timeouts as the registry request that needed it."""
    ref = auth_pushed_fixtures["linux-gzip"]
    issuer_host = f"127.0.0.1:{token_issuer.port}"
    with FaultProxy(auth_registry.host) as front, FaultProxy(issuer_host) as realm:
        realm.delay("/token", 10.0, times=None)
        front.set_header("", "WWW-Authenticate", lambda v: v and v.replace(issuer_host, realm.host), method=None)
        creds = Credentials(auth_registry.user or "", auth_registry.password or "")
        sleeps = Sleeps()
        timeouts = Timeouts(connect=0.5, read=0.5, write=0.5)
        start = time.monotonic()
        client = RegistryClient(RegistryConfig(timeouts=timeouts), lambda host: creds, sleep=sleeps)
        with client, pytest.raises(RegistryUnavailableError, match="read timeout"):
            client.get_manifest(parse_reference(f"{front.host}/{ref.repo}:{ref.tag}"))
        assert time.monotonic() - start < 5  # before the fix: the first token request waited the full 10 s
        assert 1 <= len(realm.calls("/token")) <= RetryPolicy().max_attempts


# -- the "forever" faults through the CLI, with real backoff sleeps (a few seconds each): make stress -----------


@pytest.mark.stress
def test_cli_slow_forever_is_exit_5_in_bounded_time(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.delay("/manifests/", 30.0, times=None)
    start = time.monotonic()
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json", "--timeout", "0.5")
    assert_one_line_error(run, 5, contains="read timeout")
    assert time.monotonic() - start < 20
    assert len(proxy.calls("/manifests/")) == RetryPolicy().max_attempts


@pytest.mark.stress
def test_cli_blob_cut_forever_is_exit_5_and_not_stored(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.cut(_blob(fault_image), after=1000, times=None)
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json")
    assert_one_line_error(run, 5, contains="download cut")
    assert _stored([fault_image.truths[0].digest]) == []


@pytest.mark.stress
def test_cli_5xx_forever_with_backoff_is_exit_5_in_bounded_time(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Layerscope
) -> None:
    proxy.status("/manifests/", 502, times=None)
    start = time.monotonic()
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json")
    assert_one_line_error(run, 5, contains="HTTP 502")
    policy = RetryPolicy()
    assert time.monotonic() - start < sum(min(policy.max_delay, policy.base_delay * 2**k) for k in range(4)) + 5


def test_a_failing_layer_is_reported_at_once_not_after_a_stalled_one(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Callable[..., Run]
) -> None:
    """One layer 404s while another stalls mid-body: the error must not wait for the stall (issue 6)."""
    stalled, missing = fault_image.layer_digests[0], fault_image.layer_digests[1]
    proxy.delay(f"/blobs/{stalled}", 25, after=1000)
    proxy.status(f"/blobs/{missing}", 404)
    started = time.monotonic()
    run = layerscope("analyze", fault_image.at(proxy.host), "--no-store", "--no-progress")
    elapsed = time.monotonic() - started
    assert run.exit_code == 4, run.stderr
    assert elapsed < 15, f"the 404 was reported after {elapsed:.1f} s"
