"""What a SeedLink client hands out: records with their sequence numbers, resume
positions, reconnection delays, and a time window being collected.

Records are parsed with ObsPy's public ``obspy.read`` (format MSEED, through
:mod:`seismo.io.mseed`); their headers (time, rate, length) are read without decoding
(:mod:`seismo.io.seedlink.header`), so a record with corrupt frames still has a position
to resume after.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from obspy import Stream, UTCDateTime

from seismo.errors import FeedError
from seismo.io.mseed import MiniSeedError, read_mseed
from seismo.io.seedlink.header import RecordHeader, parse_header
from seismo.io.seedlink.records import SEQ_MOD, record_station, record_stream_id

__all__ = ["Backoff", "Position", "Record", "Window", "records_to_stream", "selector_for"]

log = logging.getLogger("seismo.io.seedlink.client")

@dataclass(frozen=True)
class Position:
    """Where one station's stream stands: the last sequence number received.

    ``time`` (the end of that record) lets the server restart from a time when
    the sequence number has left its buffer (SeedLink times are whole seconds, so
    such a restart may repeat the end of one record). JSON-able with :meth:`to_dict`.
    """

    sequence: int
    time: UTCDateTime | None = None

    @property
    def next_sequence(self) -> int:
        """The sequence number to resume from (the one after ``sequence``)."""
        return (self.sequence + 1) % SEQ_MOD

    def to_dict(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "time": None if self.time is None else str(self.time)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Position:
        t = d.get("time")
        return cls(int(d["sequence"]), None if t is None else UTCDateTime(t))


class Record:
    """One miniSEED record received over SeedLink, with its sequence number.

    ``payload`` is the record (any length); :attr:`header` reads its fixed header
    without decoding; :meth:`stream` decodes it (once).
    """

    __slots__ = ("_header", "_stream", "network", "payload", "sequence", "station")

    def __init__(self, network: str, station: str, sequence: int, payload: bytes) -> None:
        self.network = network
        self.station = station
        self.sequence = sequence
        self.payload = payload
        self._stream: Stream | None = None
        self._header: RecordHeader | None = None

    @property
    def header(self) -> RecordHeader:
        """The record's fixed header (start, samples, rate, length), not decoded.

        Raises:
            FeedError: no readable miniSEED 2 header.
        """
        if self._header is None:
            try:
                self._header = parse_header(self.payload)
            except ValueError as exc:
                raise FeedError(f"miniSEED record {self.sequence:06X} of {self.station_id} "
                                f"has no readable header: {exc}", self.station_id) from None
        return self._header

    @property
    def station_id(self) -> str:
        """``NET.STA``."""
        return f"{self.network}.{self.station}"

    @property
    def location(self) -> str:
        return record_stream_id(self.payload)[0].strip()

    @property
    def channel(self) -> str:
        return record_stream_id(self.payload)[1]

    def stream(self, *, copy: bool = True) -> Stream:
        """The record as an ObsPy Stream (counts), parsed with ``obspy.read`` once.

        ``copy=False`` returns the parsed stream itself, for a caller that does not
        modify it (saves a deep copy per record in real time).

        Raises:
            FeedError: the record cannot be parsed (the message names it).
        """
        if self._stream is None:
            try:
                self._stream = read_mseed(io.BytesIO(self.payload))
            except MiniSeedError as exc:
                raise FeedError(
                    f"unreadable miniSEED record {self.sequence:06X} of {self.station_id}: "
                    f"{exc}",
                    self.station_id,
                ) from None
        return self._stream.copy() if copy else self._stream

    @property
    def end_time(self) -> UTCDateTime | None:
        """Time just after the last sample of the record (None if it has no samples)."""
        st = self.stream(copy=False)
        if not len(st):
            return None
        return max(tr.stats.endtime + tr.stats.delta for tr in st)

    @property
    def position(self) -> Position:
        """The position to resume after this record, from its header alone (a record
        that cannot be decoded is still stepped past; without a valid time, by its
        sequence number alone)."""
        try:
            h = self.header
        except FeedError:
            return Position(self.sequence, None)
        end = h.end if h.sampling_rate > 0 and h.start.year < 9999 else None
        return Position(self.sequence, end)

    def __repr__(self) -> str:
        return f"Record({self.station_id} {self.location}.{self.channel} seq {self.sequence:06X})"


class Backoff:
    """Reconnection delays: ``first_s``, then multiplied by ``factor`` up to ``max_s``."""

    def __init__(self, first_s: float = 1.0, max_s: float = 60.0, factor: float = 2.0) -> None:
        if first_s <= 0 or max_s < first_s or factor < 1:
            raise FeedError(
                f"Backoff(first_s={first_s}, max_s={max_s}, factor={factor}): need "
                "0 < first_s <= max_s and factor >= 1"
            )
        self.first_s, self.max_s, self.factor = float(first_s), float(max_s), float(factor)
        self._next = self.first_s

    def next_delay(self) -> float:
        """The delay before the next attempt, seconds (grows each call)."""
        d = self._next
        self._next = min(self.max_s, self._next * self.factor)
        return d

    def reset(self) -> None:
        """Back to ``first_s`` (call it once data flows again)."""
        self._next = self.first_s


def selector_for(location: str, channel: str) -> str:
    """A SeedLink selector for feed-style codes (``*`` globs): ``LLCCC`` or ``CCC``.

    ``*`` becomes ``?`` wildcards; an empty location selects any location
    (filter the result when only the blank location is wanted).
    """
    loc = "??" if "*" in location else location
    cha = (channel.replace("*", "???")[:3] if "*" in channel else channel).ljust(3, "?")
    return f"{loc}{cha}"


class Window:
    """The records of a time window as they come, and whether it is complete: every
    station has sent records and every channel received has reached ``end``."""

    def __init__(self, stations: set[str], end: UTCDateTime) -> None:
        self.stations = stations
        self.end = end
        self.records: list[Record] = []
        self._reach: dict[tuple[str, str, str], UTCDateTime] = {}

    def add(self, seq: int, body: bytes) -> None:
        net, sta = record_station(body)
        sid = f"{net}.{sta}"
        if sid not in self.stations:
            return
        rec = Record(net, sta, seq, body)
        self.records.append(rec)
        try:
            h = rec.header
        except FeedError:
            return
        key = (sid, h.location, h.channel)
        if h.sampling_rate > 0 and h.end > self._reach.get(key, UTCDateTime(0)):
            self._reach[key] = h.end
        elif key not in self._reach:
            self._reach[key] = UTCDateTime(0)

    def short(self) -> list[str]:
        have = {k[0] for k in self._reach}
        return sorted({*(s for s in self.stations if s not in have),
                       *(".".join(k) for k, t in self._reach.items() if t < self.end)})

    def complete(self) -> bool:
        return bool(self._reach) and not self.short()


def records_to_stream(records: Iterable[Record]) -> tuple[Stream, list[str]]:
    """Parse records into one Stream (seamless pieces merged) and the problems met.

    All records are parsed in one ``obspy.read`` call; if that fails they are
    parsed one by one and each unreadable record is named in the problems.
    """
    recs = list(records)
    problems: list[str] = []
    if not recs:
        return Stream(), problems
    try:
        st = read_mseed(io.BytesIO(b"".join(r.payload for r in recs)))
    except MiniSeedError:  # find the bad record
        st = Stream()
        for r in recs:
            try:
                st += r.stream()
            except FeedError as exc:
                problems.append(str(exc))
    if len(st) > 1:
        st.merge(method=-1)
    st.sort(keys=["network", "station", "location", "channel", "starttime"])
    return st, problems
