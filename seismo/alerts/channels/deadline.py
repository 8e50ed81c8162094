"""A total deadline for one delivery attempt (connect, send, the whole answer), shared by
the network channels: a timer shuts the socket when it expires, so a receiver that
trickles its answer byte by byte cannot hold the sender (a per-read socket timeout would
let it). Imports nothing heavy (the package's modules are read when the configuration is
validated)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def total_deadline(
    seconds: float, sock: Callable[[], socket.socket | None]
) -> Iterator[threading.Event]:
    """Within the block, shut the socket ``sock()`` returns when ``seconds`` have passed;
    the yielded event is set when that happened (the attempt then failed)."""
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        s = sock()
        if s is not None:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, cut_off)
    timer.daemon = True
    timer.start()
    try:
        yield expired
    finally:
        timer.cancel()
