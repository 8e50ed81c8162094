"""The error boundary: one failing station, window, event or delivery never stops the others.

Where a shell (or an edge that serves many stations, events or deliveries) runs
one unit of work among many, it runs it inside :func:`boundary`::

    with boundary("processing", station=sid) as failure:
        picks = pick_stream(...)
    if failure:
        return StationResult(..., error=f"processing failed: {failure.reason}")

A failure inside the block is caught, logged with where it happened (``station
SZ.A: processing failed: ...``), counted (:func:`failure_counts`) and kept on
the yielded :class:`Failure`; execution goes on after the block. Two kinds:

* *expected* failures (``expected``, by default :class:`~seismo.errors.SeismoError`:
  bad data, a feed down, a store refusing) are logged at ``level`` without a
  traceback (``level=None``: not logged here, the caller reports them, for
  example in a retry message or by sending them to another process);
* any other :class:`Exception` is a bug or a foreign library's surprise: logged
  at ERROR with its traceback.

``KeyboardInterrupt``, ``SystemExit`` and other ``BaseException`` are never
caught: stopping the process is not a failure of one unit.

This is the one catch-all of the shells and edges; the other catch-all clauses
are where a foreign library raises plain ``Exception`` (the reason is in a
comment there).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from seismo.errors import SeismoError

_log = logging.getLogger(__name__)

_COUNTS: Counter[str] = Counter()
_COUNTS_LOCK = threading.Lock()


@dataclass
class Failure:
    """What a :func:`boundary` caught (falsy while nothing failed).

    ``what`` and ``where`` describe the unit of work (``where``: "station SZ.A,
    window [...)"), ``error`` is the exception, ``expected`` whether it was one
    of the boundary's expected types.
    """

    what: str
    where: str = ""
    error: Exception | None = None
    expected: bool = False
    traceback: str = field(default="", repr=False)

    def __bool__(self) -> bool:
        return self.error is not None

    @property
    def reason(self) -> str:
        """The error for people: its message, prefixed with its type if it was not
        expected ("" when nothing failed)."""
        if self.error is None:
            return ""
        if self.expected:
            return str(self.error) or type(self.error).__name__
        return f"{type(self.error).__name__}: {self.error}"

    @property
    def typed_reason(self) -> str:
        """``"<type>: <message>"`` whatever the kind ("" when nothing failed)."""
        return "" if self.error is None else f"{type(self.error).__name__}: {self.error}"


def where_text(**where: object) -> str:
    """``station SZ.A, window [...)`` from keyword pairs (None values left out)."""
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in where.items() if v is not None)


@contextmanager
def boundary(
    what: str,
    *,
    logger: logging.Logger | None = None,
    level: int | None = logging.WARNING,
    expected: tuple[type[Exception], ...] = (SeismoError,),
    **where: object,
) -> Iterator[Failure]:
    """Run the block as one unit of work whose failure is logged, counted and left behind.

    ``what`` names the work ("processing", "delivery"); ``where`` says on what
    (``station=``, ``window=``, ``event=``, ``delivery=``, ...). ``logger``: the
    caller's logger (default: this module's). See the module docstring for
    ``level`` and ``expected``.
    """
    failure = Failure(what, where_text(**where))
    try:
        yield failure
    except Exception as exc:  # the boundary: every failure of one unit stops here
        failure.error = exc
        failure.expected = isinstance(exc, expected)
        failure.traceback = traceback.format_exc()
        with _COUNTS_LOCK:
            _COUNTS[what] += 1
        log = logger or _log
        prefix = f"{failure.where}: " if failure.where else ""
        if not failure.expected:
            log.error("%s%s failed: %s", prefix, what, failure.reason, exc_info=exc)
        elif level is not None:
            log.log(level, "%s%s failed: %s", prefix, what, failure.reason)


def failure_counts() -> dict[str, int]:
    """Failures caught by :func:`boundary` in this process so far, by ``what``."""
    with _COUNTS_LOCK:
        return dict(_COUNTS)
