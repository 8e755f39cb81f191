"""Per-image checks of layer measurements: each image checks every measurement it uses against its own config.

The work is shared between images (one measurement per blob), never the check (issue #12): `checked` compares a
measurement with the layer descriptor and the diff_id *this* image's config names, and the future forms carry the
result, or its error, to whoever waits in image order (analysis.py).
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, InvalidStateError

from layerscope.errors import LayerscopeError
from layerscope.measurement import LayerMeasurement, check_layer
from layerscope.oci import Descriptor

__all__ = ["checked", "checked_future", "checked_now"]


def checked(m: LayerMeasurement, desc: Descriptor, diff_id: str) -> LayerMeasurement:
    """*m* as layer *desc* of an image whose config names *diff_id*: exact ones must match it."""
    if not m.exact:
        return m  # an estimate (estimate modes) hashes nothing: there is no diff_id to compare
    return check_layer(m, digest=desc.digest, size=desc.size, diff_id=diff_id)


def checked_now(m: LayerMeasurement, desc: Descriptor, diff_id: str) -> LayerMeasurement | Future[LayerMeasurement]:
    """checked(...), or a failed future carrying its error (raised in image order with the others)."""
    try:
        return checked(m, desc, diff_id)
    except LayerscopeError as exc:
        failed: Future[LayerMeasurement] = Future()
        failed.set_exception(exc)
        return failed


def checked_future(work: Future[LayerMeasurement], desc: Descriptor, diff_id: str) -> Future[LayerMeasurement]:
    """A future of *work*'s result checked for this image (*work* may be shared with other images)."""
    out: Future[LayerMeasurement] = Future()

    def done(f: Future[LayerMeasurement]) -> None:
        if out.done():
            return  # cancelled by wait_or_abort after another failure: nobody waits for it
        if f.cancelled():
            out.cancel()
            out.set_running_or_notify_cancel()  # wakes whoever waits on *out*
            return
        error = f.exception()
        # InvalidStateError: *out* was cancelled meanwhile (an error in a done-callback would be logged).
        with contextlib.suppress(InvalidStateError):
            try:
                if error is not None:
                    raise error
                out.set_result(checked(f.result(), desc, diff_id))
            except InvalidStateError:
                raise
            except BaseException as exc:  # carried by the future to whoever waits
                out.set_exception(exc)

    work.add_done_callback(done)
    return out
