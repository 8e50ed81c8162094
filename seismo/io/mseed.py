"""miniSEED decoding and encoding through ObsPy, one call at a time.

ObsPy's libmseed wrapper (``obspy.io.mseed.headers``, ObsPy 1.4) installs
process-wide logging callbacks before every libmseed call and frees them when
the call returns. Two threads decoding at once can therefore make libmseed call
a callback that the other thread has just freed, which crashes the interpreter
("Fatal Python error"); this was seen with a corrupt SDS file read while another
station was read. Every miniSEED read and write in seismo goes through this
module, which holds one process-wide lock around the ObsPy call. Network waits
happen outside it: the FDSN feed downloads the raw answer first and decodes it
here, the SeedLink client decodes records it has already received.
"""

from __future__ import annotations

import threading
from typing import IO, Any

from obspy import Stream, read

_LOCK = threading.Lock()


def read_mseed(source: str | IO[bytes], **kwargs: Any) -> Stream:
    """``obspy.read(source, format="MSEED", **kwargs)`` under the process-wide lock.

    Raises whatever ObsPy raises for unreadable data (callers name the source).
    """
    with _LOCK:
        return read(source, format="MSEED", **kwargs)


def write_mseed(stream: Stream, target: str | IO[bytes], **kwargs: Any) -> None:
    """``stream.write(target, format="MSEED", **kwargs)`` under the process-wide lock."""
    with _LOCK:
        stream.write(target, format="MSEED", **kwargs)
