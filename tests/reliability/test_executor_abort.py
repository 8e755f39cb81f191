"""Issue #12 item 8b: the `threads` executor runs on the one local worker pool and stops at the first failure.

Through the fault proxy, one layer of the image stalls mid-stream for 25 s while another answers
garbage. The run must end with that layer's error in a few seconds, not wait for the stalled download
(the old executor waited on `ThreadPoolExecutor.shutdown(wait=True)`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.integration.conftest import Run
from tests.reliability.helpers import Pushed, assert_one_line_error
from tests.support.faultproxy import FaultProxy

STALL = 25.0


def test_a_failing_layer_ends_a_threads_run_at_once(
    proxy: FaultProxy, fault_image: Pushed, layerscope: Callable[..., Run]
) -> None:
    slow, broken = (fault_image.truths[i].digest for i in (0, 1))
    proxy.delay(f"/blobs/{slow}", STALL, after=32_000)
    # Right length, wrong bytes: the digest check fails at the end of the stream (no retry).
    proxy.replace_body(f"/blobs/{broken}", b"\0" * fault_image.truths[1].size)
    started = time.monotonic()
    run = layerscope("analyze", fault_image.at(proxy.host), "-o", "json", "--no-store", "--executor", "threads")
    elapsed = time.monotonic() - started
    assert_one_line_error(run, 1, contains=broken[:19])
    assert elapsed < 8.0, f"the run took {elapsed:.1f}s: it waited for the stalled download"
    assert any(call.path.endswith(slow) for call in proxy.log), "the slow layer was never requested"
