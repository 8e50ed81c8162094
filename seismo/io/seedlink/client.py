"""A SeedLink client (protocol 3, and 4 where the server offers it): windowed fetches
and a resumable real-time record stream.

Two ways to use it, both in multi-station mode over one TCP connection:

* :meth:`SeedLinkClient.fetch` asks for a time window (``TIME begin end``) of
  one or more stations and returns an ObsPy Stream once the server has sent
  ``END``; the whole exchange must finish within ``timeout_s``.
* :meth:`SeedLinkClient.stream` asks for real-time data (``DATA``) and returns
  a :class:`RecordStream`, an iterator of :class:`Record` (one miniSEED record
  each, of whatever length the server sends, with its station's sequence number). Each record's
  :attr:`Record.position` is what to pass back as ``resume`` after a broken
  connection: the server then continues with the next record (``DATA seq
  [time]``), so nothing is lost or received twice. Reconnection is the
  caller's loop; :class:`Backoff` gives the delays::

      positions: dict[str, Position] = load_state()       # {"NET.STA": Position}
      backoff = Backoff()
      while not stop.is_set():
          try:
              with client.stream(stations, resume=positions) as records:
                  for rec in records:
                      handle(rec.stream())
                      positions[rec.station_id] = rec.position
                      backoff.reset()
          except FeedError as exc:
              log.warning("SeedLink: %s", exc)
          stop.wait(backoff.next_delay())

Protocol (SeisComP documentation, "SeedLink protocol",
seiscomp.de/doc/apps/seedlink.html; the client side of libslink and of
``obspy/clients/seedlink/client/seedlinkconnection.py``):

* ``HELLO`` is answered by two lines: the server id (``SeedLink v3.1 ...``)
  and the organisation;
* per station: ``STATION sta net``, ``SELECT pattern`` for each selector, then
  one action, ``DATA [seq [time]]``, ``FETCH [seq [time]]`` or ``TIME begin
  [end]``; each is answered ``OK`` or ``ERROR``. A refused station is left
  out (and named); the others go on. ``END`` starts the transfer;
* packets are ``SL`` + six hex digits + a miniSEED record (512 bytes from seismo's
  server and SeisComP; ringserver passes 256 to 4096 bytes through: the length is read
  from the record's blockette 1000), or ``SLINFO`` + flag + an ASCII record (answers to
  ``INFO``, also the keepalive); ``END`` closes a windowed transfer;
* SeedLink 4 (:mod:`seismo.io.seedlink.v4`) where the server offers it (``SLPROTO:4.0``
  in the HELLO answer, ringserver 4 and SeisComP): ``SE`` packets that carry their
  length and a 64-bit sequence number; ``DATA ALL begin end`` for windows.

A time window ends when the server sends ``END``; ringserver sends it only once a
record that starts after the window end exists, up to one record length later (5-7 s
for 512-byte records of a quiet 100 Hz channel). :meth:`SeedLinkClient.fetch_records`
therefore ends a window itself as soon as every channel received has reached its end.

Records are parsed with ObsPy's public ``obspy.read`` (format MSEED); their headers
(time, rate, length) are read without decoding (:mod:`seismo.io.seedlink.header`), so a
record with corrupt frames still has a position to resume after.
"""

from __future__ import annotations

import io
import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence

from obspy import Stream, UTCDateTime

from seismo.errors import FeedError
from seismo.io.mseed import read_mseed
from seismo.io.seedlink import v4
from seismo.io.seedlink.link import (
    Link,
    LinkClosed,
    StationRequest,
    hello,
    negotiate,
    refused_error,
)
from seismo.io.seedlink.records import command_time, record_station
from seismo.io.seedlink.values import (
    Backoff,
    Position,
    Record,
    Window,
    records_to_stream,
    selector_for,
)

__all__ = [
    "DEFAULT_PORT",
    "Backoff",
    "Position",
    "Record",
    "RecordStream",
    "SeedLinkClient",
    "StationRequest",
    "records_to_stream",
    "selector_for",
]

log = logging.getLogger(__name__)

#: Default SeedLink TCP port (IANA service "seedlink", 18000/tcp).
DEFAULT_PORT = 18000


# --------------------------------------------------------------------------- the client
class SeedLinkClient:
    """A SeedLink client for one server. Each call opens its own connection, so
    one client may be used from several threads at once.

    Args:
        host, port: the server.
        timeout_s: total time allowed for a windowed fetch (connection, handshake and
            data), and for the connection and handshake of a real-time stream, seconds.
        protocol: 3 or 4 to insist on one; None: SeedLink 4 where the server offers it.
    """

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, timeout_s: float = 10.0,
                 protocol: int | None = None) -> None:
        if not host:
            raise FeedError("a SeedLink client needs a host")
        if timeout_s <= 0:
            raise FeedError(f"SeedLink timeout_s ({timeout_s}) must be positive")
        if protocol not in (None, 3, 4):
            raise FeedError(f"SeedLink protocol {protocol!r} is not 3 or 4")
        self.host, self.port, self.timeout_s = host, int(port), float(timeout_s)
        self.protocol = protocol

    @property
    def url(self) -> str:
        return f"seedlink://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"SeedLinkClient({self.url!r})"

    def _open(self, timeout_s: float) -> tuple[Link, float]:
        deadline = time.monotonic() + timeout_s
        return Link(self.host, self.port, self.url, timeout_s), deadline

    # ------------------------------------------------------------------ queries
    def hello(self) -> tuple[str, str]:
        """(server id line, organisation line) of the HELLO answer."""
        link, deadline = self._open(self.timeout_s)
        try:
            server, org, _ = hello(link, deadline, protocol=self.protocol)
            link.send("BYE", deadline - time.monotonic())
            return server, org
        finally:
            link.close()

    def info(self, level: str = "ID") -> str:
        """The server's ``INFO level`` answer (XML), e.g. ID, STATIONS, STREAMS.

        Raises:
            FeedError: the server refused the level or did not answer in time.
        """
        link, deadline = self._open(self.timeout_s)
        try:
            hello(link, deadline, protocol=self.protocol)
            link.send(f"INFO {level.upper()}", deadline - time.monotonic())
            parts: list[bytes] = []
            while True:
                pkt = link.packet(deadline - time.monotonic())
                if pkt is None:
                    raise FeedError(
                        f"SeedLink server {self.url}: INFO {level} not answered in time"
                    )
                kind, flag, body = pkt
                if kind == "error":
                    raise FeedError(f"SeedLink server {self.url} refused INFO {level}")
                if kind != "info":
                    continue
                if link.protocol >= 4:  # a JSON document in one packet
                    return body.decode("utf-8", "replace")
                for tr in read_mseed(io.BytesIO(body)):
                    parts.append(tr.data.tobytes())
                if flag:
                    break
            return b"".join(parts).decode("ascii", "replace").rstrip("\x00 ")
        finally:
            link.close()

    # ------------------------------------------------------------------ windows
    def fetch_records(
        self,
        stations: Sequence[StationRequest],
        start: UTCDateTime,
        end: UTCDateTime,
        *,
        timeout_s: float | None = None,
    ) -> list[Record]:
        """The records of ``stations`` overlapping ``[start, end)`` (``TIME begin end``;
        SeedLink 4: ``DATA ALL begin end``).

        SeedLink 3 times are whole seconds: the request is widened to
        ``[floor(start), ceil(end))``; records are returned whole, not trimmed. The
        window ends at the server's ``END`` or as soon as every station has sent records
        and every channel received reaches ``end`` (module doc: a server may send
        ``END`` only once a record past the window exists). When time runs out, the
        records received so far are returned (the stations still short are logged);
        with none at all it raises.

        Raises:
            FeedError: no connection, a protocol error, every station refused (named
                in the message), or nothing received within ``timeout_s`` (default:
                the client's).
        """
        start, end = UTCDateTime(start), UTCDateTime(end)
        if not end > start:
            raise FeedError(f"SeedLink window end {end} is not after start {start}")
        if not stations:
            return []
        limit = self.timeout_s if timeout_s is None else float(timeout_s)
        t0 = UTCDateTime(math.floor(start.timestamp))
        t1 = UTCDateTime(math.ceil(end.timestamp))
        link, deadline = self._open(limit)
        try:
            _, _, version = hello(link, deadline, protocol=self.protocol)
            if version is not None and version < (3, 0):
                raise FeedError(
                    f"SeedLink server {self.url} speaks v{version[0]}.{version[1]}: "
                    "time windows need v3"
                )
            verb = (f"DATA ALL {v4.command_time(start)} {v4.command_time(end)}"
                    if link.protocol >= 4 else
                    f"TIME {command_time(t0)} {command_time(t1)}")
            accepted, refused = negotiate(link, stations, lambda _: verb, deadline)
            if not accepted:
                raise refused_error(self.url, refused)
            link.send("END", deadline - time.monotonic())
            window = Window(set(accepted), end)
            while not window.complete():
                pkt = link.packet(deadline - time.monotonic())
                if pkt is None:
                    if window.records:
                        log.warning("SeedLink server %s: window %s - %s not complete within "
                                    "%g s; kept what came (short: %s)", self.url, start, end,
                                    limit, ", ".join(window.short()) or "none")
                        return window.records
                    raise FeedError(
                        f"SeedLink server {self.url}: window {start} - {end} of "
                        f"{', '.join(accepted)} not complete within {limit:g} s"
                    )
                kind, seq, body = pkt
                if kind == "end":
                    return window.records
                if kind == "error":
                    raise FeedError(
                        f"SeedLink server {self.url} answered {body[:80]!r} during the "
                        f"window {start} - {end}"
                    )
                if kind == "data":
                    window.add(seq, body)
            return window.records
        finally:
            link.close()

    def fetch(
        self,
        stations: Sequence[StationRequest],
        start: UTCDateTime,
        end: UTCDateTime,
        *,
        timeout_s: float | None = None,
    ) -> Stream:
        """The records of ``stations`` overlapping ``[start, end)`` as one ObsPy Stream
        (counts; seamless records merged; not trimmed). Unreadable records are left out
        and logged. Raises as :meth:`fetch_records`."""
        st, problems = records_to_stream(
            self.fetch_records(stations, start, end, timeout_s=timeout_s)
        )
        for p in problems:
            log.warning("%s", p)
        return st

    # ------------------------------------------------------------------ real time
    def stream(
        self,
        stations: Sequence[StationRequest],
        *,
        resume: Mapping[str, Position] | None = None,
        start: UTCDateTime | None = None,
        keepalive_s: float = 30.0,
        idle_timeout_s: float = 120.0,
    ) -> RecordStream:
        """Open a real-time stream of ``stations``; iterate the result for records.

        Per station, in this order of preference:

        * a position in ``resume`` (keyed ``NET.STA``): ``DATA next_seq [time]``, the
          server continues right after the last record received;
        * ``start``: ``TIME start``, data from that time on, then real time;
        * neither: ``DATA``, only data that arrive from now on.

        Stations the server refuses are named in :attr:`RecordStream.refused` and
        logged; the others stream. While no packet arrives for ``keepalive_s`` the
        client sends ``INFO ID`` (answered with an SLINFO packet, which proves the link
        alive); after ``idle_timeout_s`` without any packet the iterator raises
        FeedError, the signal to reconnect.

        Raises:
            FeedError: no connection or handshake within the client's ``timeout_s``,
                or every station refused.
        """
        if keepalive_s <= 0 or idle_timeout_s <= 0:
            raise FeedError(
                f"SeedLink keepalive_s ({keepalive_s}) and idle_timeout_s "
                f"({idle_timeout_s}) must be positive"
            )
        if not stations:
            raise FeedError("a SeedLink stream needs at least one station")
        positions = dict(resume or {})
        begin = None if start is None else UTCDateTime(start)
        link, deadline = self._open(self.timeout_s)
        try:
            server, _, _ = hello(link, deadline, protocol=self.protocol)
            proto4 = link.protocol >= 4

            def action(req: StationRequest) -> str:
                pos = positions.get(req.station_id)
                if pos is not None:
                    if proto4:
                        return f"DATA {pos.sequence + 1}"
                    verb = f"DATA {pos.next_sequence:06X}"
                    return verb if pos.time is None else f"{verb} {command_time(pos.time)}"
                if begin is not None:
                    return (f"DATA ALL {v4.command_time(begin)}" if proto4
                            else f"TIME {command_time(begin)}")
                return "DATA"

            accepted, refused = negotiate(link, stations, action, deadline)
            if not accepted:
                raise refused_error(self.url, refused)
            link.send("END", deadline - time.monotonic())
        except BaseException:
            link.close()
            raise
        return RecordStream(link, server, accepted, refused, keepalive_s, idle_timeout_s)


class RecordStream:
    """Real-time records from one SeedLink connection (see :meth:`SeedLinkClient.stream`).

    Iterating blocks until the next record. The iteration ends (StopIteration) after
    :meth:`close` (callable from another thread) or when the server ends the
    transfer with ``END``; a lost or silent connection raises FeedError.
    """

    def __init__(
        self,
        link: Link,
        server: str,
        accepted: list[str],
        refused: dict[str, str],
        keepalive_s: float,
        idle_timeout_s: float,
    ) -> None:
        self._link = link
        self.server = server
        self.accepted = accepted
        self.refused = refused
        self.keepalive_s = keepalive_s
        self.idle_timeout_s = idle_timeout_s
        self._wanted = set(accepted)
        self._last_rx = time.monotonic()
        self._done = False
        self._skipped: set[bytes] = set()

    @property
    def url(self) -> str:
        return self._link.url

    @property
    def protocol(self) -> int:
        """The SeedLink protocol spoken on this connection (3 or 4)."""
        return self._link.protocol

    def __iter__(self) -> Iterator[Record]:
        return self

    def __next__(self) -> Record:
        link = self._link
        while not self._done:
            silent = time.monotonic() - self._last_rx
            if silent >= self.idle_timeout_s:
                self.close()
                raise FeedError(
                    f"SeedLink server {link.url}: nothing received for {silent:.0f} s "
                    f"(idle_timeout_s {self.idle_timeout_s:g})"
                )
            wait = min(self.keepalive_s, self.idle_timeout_s - silent)
            try:
                pkt = link.packet(wait)
                if pkt is None:
                    link.send("INFO ID", self.keepalive_s)  # keepalive
                    continue
            except LinkClosed:
                break
            except FeedError:
                if link.closed:
                    break
                self.close()
                raise
            self._last_rx = time.monotonic()
            kind, seq, body = pkt
            if kind == "data":
                net, sta = record_station(body)
                if f"{net}.{sta}" in self._wanted:
                    return Record(net, sta, seq, body)
            elif kind == "end":
                break
            elif kind == "error":
                log.debug("SeedLink server %s: %s", link.url, body.decode("ascii", "replace"))
            elif kind == "skip" and body not in self._skipped:
                self._skipped.add(body)
                log.warning("SeedLink server %s sends packets of format %r, which seismo does "
                            "not decode (miniSEED 2 only): skipped", link.url, body.decode())
        self.close()
        raise StopIteration

    def close(self) -> None:
        """End the stream; safe to call from another thread, and more than once."""
        self._done = True
        self._link.close()

    def __enter__(self) -> RecordStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

