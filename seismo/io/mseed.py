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
from obspy.io.mseed import ObsPyMSEEDFilesizeTooSmallError

from seismo.errors import DataError

_LOCK = threading.Lock()


class MiniSeedError(DataError):
    """Data that ObsPy cannot read as miniSEED. The message is ObsPy's exception type
    and message (callers name the source); ``empty``: the source is shorter than one
    record (for a file: just created by its writer, no data yet)."""

    def __init__(self, message: str, *, empty: bool = False) -> None:
        super().__init__(message)
        self.empty = empty


def read_mseed(source: str | IO[bytes], **kwargs: Any) -> Stream:
    """``obspy.read(source, format="MSEED", **kwargs)`` under the process-wide lock.

    Raises:
        MiniSeedError: the data cannot be read (corrupt, not miniSEED, a file that
            cannot be opened).
    """
    with _LOCK:
        try:
            return read(source, format="MSEED", **kwargs)
        except Exception as exc:  # ObsPy raises plain Exception and many other types here
            raise MiniSeedError(
                f"{type(exc).__name__}: {exc}",
                empty=isinstance(exc, ObsPyMSEEDFilesizeTooSmallError),
            ) from exc


def write_mseed(stream: Stream, target: str | IO[bytes], **kwargs: Any) -> None:
    """``stream.write(target, format="MSEED", **kwargs)`` under the process-wide lock."""
    with _LOCK:
        stream.write(target, format="MSEED", **kwargs)
