"""Test helpers: a deterministic waveform source and a loopback FDSN dataselect server.

``synthetic_source`` gives the same integer counts for the same sample times
whatever window is asked, so data served by different protocols can be
compared sample by sample with a direct call.

``FDSNDataselectServer`` implements the part of FDSN web services
dataselect 1 that ObsPy's client uses: ``/fdsnws/dataselect/1/query``
(GET and POST), ``/fdsnws/dataselect/1/version`` and
``/fdsnws/dataselect/1/application.wadl``; 204 (or ``nodata=404``) when
nothing matches. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import fnmatch
import io
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
from obspy import Stream, Trace, UTCDateTime

CHANNELS = (
    ("00", "HHZ"),
    ("00", "HHN"),
    ("00", "HHE"),
    ("10", "HNZ"),
    ("10", "HNN"),
    ("10", "HNE"),
)


def synthetic_source(
    network: str,
    station: str,
    start: UTCDateTime,
    end: UTCDateTime,
    *,
    sampling_rate: float = 100.0,
    channels: tuple[tuple[str, str], ...] = CHANNELS,
    amplitude: int = 10000,
) -> Stream:
    """Deterministic int32 counts for samples at times k/sampling_rate in ``[start, end)``.

    Sample indices come from exact integer nanoseconds (``sampling_rate`` must be whole Hz).
    """
    sr = int(sampling_rate)
    n0 = -((-start.ns * sr) // 10**9)  # ceil(start * sr), exact
    n1 = -((-end.ns * sr) // 10**9)
    st = Stream()
    if n1 <= n0:
        return st
    k = np.arange(n0, n1, dtype=np.int64)
    for loc, cha in channels:
        seed = zlib.crc32(f"{network}.{station}.{loc}.{cha}".encode())
        data = ((k * 2654435761 + seed) % (2 * amplitude + 1) - amplitude).astype(np.int32)
        st += Trace(
            data,
            {
                "network": network,
                "station": station,
                "location": loc,
                "channel": cha,
                "sampling_rate": sampling_rate,
                "starttime": UTCDateTime(ns=n0 * (10**9 // sr)),
            },
        )
    return st


class _QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not log, with one way to answer."""

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


class FDSNDataselectServer:
    """Loopback FDSN dataselect server over ``source(net, sta, start, end) -> Stream``.

    ``stations`` lists the (network, station) pairs known; ``garbage=True``
    makes every query answer 200 with bytes that are not miniSEED.
    """

    def __init__(self, source, stations, garbage: bool = False) -> None:  # type: ignore[no-untyped-def]
        self.source = source
        self.stations = list(stations)
        self.garbage = garbage
        self.requests: list[str] = []
        outer = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                outer.requests.append(self.path)
                if parts.path.endswith("/version"):
                    self._send(200, b"1.1.0", "text/plain")
                elif parts.path.endswith("/application.wadl"):
                    self._send(200, b'<?xml version="1.0"?><application/>', "application/xml")
                elif parts.path == "/fdsnws/dataselect/1/query":
                    q = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                    self._query([_line_from_params(q)], q.get("nodata", "204"))
                else:
                    self._send(404, b"not found", "text/plain")

            def do_POST(self) -> None:
                outer.requests.append(self.path)
                if urlsplit(self.path).path != "/fdsnws/dataselect/1/query":
                    self._send(404, b"not found", "text/plain")
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                lines, opts = [], {}
                for raw in body.splitlines():
                    raw = raw.strip()
                    if not raw:
                        continue
                    if "=" in raw and len(raw.split()) == 1:
                        k, v = raw.split("=", 1)
                        opts[k] = v
                    else:
                        lines.append(tuple(raw.split()))
                self._query(lines, opts.get("nodata", "204"))

            def _query(self, lines, nodata: str) -> None:  # type: ignore[no-untyped-def]
                if outer.garbage:
                    self._send(200, b"this is not miniSEED " * 40, "application/vnd.fdsn.mseed")
                    return
                try:
                    st = outer.select(lines)
                except (ValueError, TypeError, KeyError) as exc:
                    self._send(400, f"bad request: {exc}".encode(), "text/plain")
                    return
                if not st:
                    code = 404 if nodata == "404" else 204
                    self._send(code, b"" if code == 204 else b"no data", "text/plain")
                    return
                buf = io.BytesIO()
                st.write(buf, format="MSEED", reclen=512, encoding="STEIM2")
                self._send(200, buf.getvalue(), "application/vnd.fdsn.mseed")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def select(self, lines) -> Stream:  # type: ignore[no-untyped-def]
        out = Stream()
        for net, sta, loc, cha, start, end in lines:
            loc = "" if loc == "--" else loc
            t0, t1 = UTCDateTime(start), UTCDateTime(end)
            for n, s in self.stations:
                if not (fnmatch.fnmatchcase(n, net) and fnmatch.fnmatchcase(s, sta)):
                    continue
                for tr in self.source(n, s, t0, t1):
                    if fnmatch.fnmatchcase(tr.stats.location, loc) and fnmatch.fnmatchcase(
                        tr.stats.channel, cha
                    ):
                        out.append(tr)
        return out

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FDSNDataselectServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> FDSNDataselectServer:
        return self.start()

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        self.stop()


def _line_from_params(q: dict[str, str]) -> tuple[str, ...]:
    def get(*names: str, default: str | None = None) -> str:
        for n in names:
            if n in q:
                return q[n]
        if default is None:
            raise KeyError(f"missing parameter {names[0]}")
        return default

    return (
        get("network", "net", default="*"),
        get("station", "sta", default="*"),
        get("location", "loc", default="*"),
        get("channel", "cha", default="*"),
        get("starttime", "start"),
        get("endtime", "end"),
    )


class FDSNEventServer:
    """Loopback FDSN event service (``/fdsnws/event/1/query``, ``format=xml``) over a
    list of ObsPy events: answers the events whose preferred origin lies in
    [starttime, endtime] and whose preferred magnitude >= minmagnitude, as QuakeML;
    204 (or ``nodata=404``) when none. ``/fdsnws/event/1/version`` answers 1.2.0.
    It binds 127.0.0.1 only.
    """

    def __init__(self, events) -> None:  # type: ignore[no-untyped-def]
        from obspy.core.event import Catalog

        self.catalog = Catalog(events=list(events))
        self.requests: list[str] = []
        outer = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                outer.requests.append(self.path)
                if parts.path == "/fdsnws/event/1/version":
                    self._send(200, b"1.2.0", "text/plain")
                    return
                if parts.path != "/fdsnws/event/1/query":
                    self._send(404, b"not found", "text/plain")
                    return
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                try:
                    t0 = UTCDateTime(q.get("starttime", "1970-01-01"))
                    t1 = UTCDateTime(q.get("endtime", "2100-01-01"))
                    mmin = float(q.get("minmagnitude", "-10"))
                except (ValueError, TypeError):
                    self._send(400, b"bad request", "text/plain")
                    return
                from obspy.core.event import Catalog

                hits = Catalog()
                for ev in outer.catalog:
                    o, m = ev.preferred_origin(), ev.preferred_magnitude()
                    if o is not None and t0 <= o.time <= t1 and (m is None or m.mag >= mmin):
                        hits.append(ev)
                if not hits:
                    code = 404 if q.get("nodata") == "404" else 204
                    self._send(code, b"", "text/plain")
                    return
                buf = io.BytesIO()
                hits.write(buf, format="QUAKEML")
                self._send(200, buf.getvalue(), "application/xml")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FDSNEventServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
