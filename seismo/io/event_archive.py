"""The event waveform archive: each event's miniSEED, kept when seismo detects it.

``seismo stream`` keeps the raw records of the last minutes in a :class:`RecordRing`
(the miniSEED records as received, never re-encoded) and writes, when it
publishes an event and again when the event closes, the records around the origin
to ``<archive>/<event id>.mseed`` (:func:`write_event_records`). Review, plots and
the console read that file (:func:`read_event_waveforms`), so they still show the
event's waveforms after the feed's own buffer has moved on.

Times are epoch seconds (UTC) or ObsPy ``UTCDateTime``.
"""

from __future__ import annotations

import glob
import io
import logging
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from obspy import Stream

from seismo.durable import write_atomic
from seismo.errors import DataError
from seismo.io.mseed import read_mseed

log = logging.getLogger(__name__)


def archive_path(root: Path, event_id: str, part: str | None = None) -> Path:
    """``<root>/<event id>.mseed``, or ``<root>/<event id>.<part>.mseed`` for the records
    of one picker part of a split stream; an id or part that is no plain file name is
    refused."""
    for name in (event_id, part):
        if name is not None and (not name or "/" in name or "\\" in name
                                 or name.startswith(".")):
            raise DataError(f"{name!r} cannot name an archive file")
    return Path(root) / (f"{event_id}.mseed" if part is None else f"{event_id}.{part}.mseed")


class RecordRing:
    """Raw miniSEED records of the last ``keep_s`` seconds, per station (thread-safe).

    Each record is kept with its start and end time (epoch s); records older than
    ``keep_s`` before the newest one of their station are dropped as new ones arrive.
    """

    def __init__(self, keep_s: float) -> None:
        if not keep_s > 0:
            raise DataError(f"record ring keep_s ({keep_s}) must be > 0")
        self.keep_s = float(keep_s)
        self._rings: dict[str, deque[tuple[float, float, bytes]]] = {}
        self._lock = threading.Lock()

    def add(self, station_id: str, start: float, end: float, payload: bytes) -> None:
        with self._lock:
            ring = self._rings.setdefault(station_id, deque())
            ring.append((start, end, payload))
            newest = max(end, ring[-1][1])
            while ring and ring[0][1] < newest - self.keep_s:
                ring.popleft()

    def span(self, t0: float, t1: float, stations: Iterable[str] | None = None) -> list[bytes]:
        """Records overlapping [t0, t1] of ``stations`` (every station when None)."""
        with self._lock:
            keys = list(self._rings) if stations is None else [s for s in stations
                                                                 if s in self._rings]
            return [p for k in keys for (a, b, p) in self._rings[k] if b >= t0 and a <= t1]


def write_event_records(root: Path, event_id: str, records: Iterable[bytes],
                        part: str | None = None) -> Path | None:
    """Write ``records`` (raw miniSEED) to the event's archive file (of picker part
    ``part`` when given), atomically.

    Returns the path, or None when there was no record to write.
    """
    data = b"".join(records)
    if not data:
        return None
    path = archive_path(root, event_id, part)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
    log.info("event %s: %d bytes of waveforms archived in %s", event_id, len(data), path)
    return path


def read_event_waveforms(root: Path, event_id: str) -> Stream | None:
    """The archived waveforms of ``event_id`` (records as written; the files of the
    picker parts of a split stream together), or None if none.

    Raises:
        DataError: a file exists but cannot be read as miniSEED.
    """
    path = archive_path(root, event_id)
    paths = [path] if path.is_file() else []
    paths += sorted(Path(root).glob(f"{glob.escape(event_id)}.pickers-*.mseed"))
    if not paths:
        return None
    st = Stream()
    for p in paths:
        try:
            st += read_mseed(io.BytesIO(p.read_bytes()))
        except Exception as exc:  # ObsPy raises many types for a corrupt file
            raise DataError(f"event archive {p}: unreadable miniSEED: {exc}") from None
    return st
