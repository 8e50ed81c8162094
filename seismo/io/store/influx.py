"""The InfluxDB result store: validated writes through a write-ahead spool, and reads.

Write path (every ``write_*`` method):

1. each model object becomes a point; a point that fails validation is *rejected*
   (reported, not written) and never breaks the rest of the batch;
2. the lines are split into batches of ``store.batch_size`` and each batch is
   appended to the spool (durably) — from here on nothing is lost;
3. under the spool lock the store drains the spool *in order* (older spooled
   batches first, so a replay never overwrites newer data), deleting each segment
   once the server accepted it. A 400/413 batch is bisected until the malformed
   lines are isolated (moved to ``rejected.log``); a transient failure (refused,
   timeout, 5xx, auth) stops draining and leaves the segments for later.

Writes never raise for transient failures: they return a :class:`WriteReport`.
After a transient failure, writes only spool (no network attempt) for
``store.retry_interval_s``; :meth:`InfluxStore.flush_spool` always tries.

When the spool itself cannot be written (disk full, read-only, permissions) the
store logs an error and sends the batch straight to the server; only when that
fails too does the write raise :class:`~seismo.errors.StoreError` naming both
causes. Callers that must not stop (alerting) catch it; see
:mod:`seismo.shells.publish`.

Each spool segment records the destination (:func:`destination`) it was
written for and is replayed only there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obspy import UTCDateTime

from seismo.config import mask_secrets
from seismo.errors import StoreError
from seismo.io.store import points as P
from seismo.io.store import queries as Q
from seismo.io.store.connection import InfluxConnection, connection_from_settings
from seismo.io.store.reader import event_from_row, health_from_row, latest_versions, pick_from_row
from seismo.io.store.settings import StoreConfig
from seismo.io.store.spool import Spool
from seismo.io.store.writer import (
    StoreRejected,
    StoreUnavailable,
    Transport,
    make_transport,
)
from seismo.io.store.writer import query as run_query
from seismo.model import Event, Pick, StationHealth, StationResult

log = logging.getLogger(__name__)


@dataclass
class WriteReport:
    """Outcome of one write call (counts are points).

    ``written``: sent and accepted now; ``spooled``: safe on disk, to be sent later;
    ``rejected``: (description, reason) of points refused by validation or by the
    server (never retried); ``replayed``: older spooled points sent along the way;
    ``skipped``: points not written because the store is disabled.
    """

    written: int = 0
    spooled: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    replayed: int = 0
    skipped: int = 0
    #: spool segments kept for another destination (masked URL and database -> count):
    #: a changed configuration left them; only that destination's store replays them
    kept_foreign: dict[str, int] = field(default_factory=dict)

    @property
    def n_rejected(self) -> int:
        return len(self.rejected)

    @property
    def ok(self) -> bool:
        """True when everything was written now (nothing spooled or rejected)."""
        return self.spooled == 0 and not self.rejected

    def merge(self, other: WriteReport) -> WriteReport:
        return WriteReport(
            self.written + other.written, self.spooled + other.spooled,
            self.rejected + other.rejected, self.replayed + other.replayed,
            self.skipped + other.skipped, {**self.kept_foreign, **other.kept_foreign},
        )

    def __str__(self) -> str:
        return (f"written={self.written} spooled={self.spooled} rejected={self.n_rejected} "
                f"replayed={self.replayed} skipped={self.skipped}")


def destination(conn: InfluxConnection) -> str:
    """The identity of where points go: server URL (no credentials) and database/bucket."""
    return f"{conn.base_url} db={conn.database} bucket={conn.bucket} org={conn.org}"


@dataclass
class _DrainResult:
    sent: dict[Path, int] = field(default_factory=dict)
    rejected: dict[Path, list[tuple[str, str]]] = field(default_factory=dict)
    error: str | None = None
    foreign: dict[str, int] = field(default_factory=dict)  # destination -> segments kept


class InfluxStore:
    """Write and read seismo results in InfluxDB (v1 or v2 write API, InfluxQL reads).

    Args:
        connection: where the server is (see :mod:`seismo.io.store.connection`).
        spool_dir: directory of the write-ahead spool.
        batch_size: points per HTTP request.
        enabled: False turns every write into a no-op (``skipped``).
        retry_interval_s: after a transient failure, seconds during which writes only
            spool.
        lock_timeout_s: seconds to wait for another process draining the same spool.
    """

    def __init__(
        self,
        connection: InfluxConnection,
        spool_dir: Path,
        *,
        batch_size: int = 5000,
        enabled: bool = True,
        retry_interval_s: float = 30.0,
        lock_timeout_s: float = 30.0,
    ) -> None:
        if batch_size < 1:
            raise StoreError(f"batch_size ({batch_size}) must be >= 1")
        self.connection = connection
        self.spool = Spool(spool_dir, destination(connection))
        self.batch_size = batch_size
        self.enabled = enabled
        self.retry_interval_s = retry_interval_s
        self.lock_timeout_s = lock_timeout_s
        self._transport: Transport | None = None
        self._down_until = 0.0
        self._foreign_said: dict[str, int] = {}  # spool segments of other destinations logged

    @classmethod
    def from_settings(
        cls, st: StoreConfig, connection: InfluxConnection | None = None
    ) -> InfluxStore:
        """The store configured by ``[store]`` (+ environment / Airflow Connection)."""
        return cls(
            connection or connection_from_settings(st), st.spool_dir,
            batch_size=st.batch_size, enabled=st.enabled, retry_interval_s=st.retry_interval_s,
            lock_timeout_s=st.timeout_s * 3,
        )

    def __repr__(self) -> str:
        return f"InfluxStore({self.connection.describe()}, spool={self.spool.directory})"

    def __enter__(self) -> InfluxStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP client (spooled points stay on disk)."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def api(self) -> str | None:
        """The write API in use ("v1"/"v2"), None before the first successful contact."""
        return self._transport.api if self._transport else None

    # ------------------------------------------------------------------ writing
    def write_points(self, points: Iterable[P.StorePoint]) -> WriteReport:
        """Write already-built points (:func:`seismo.io.store.points.make_point`); anything
        else is rejected, named in the report."""
        lines: list[str] = []
        rejected: list[tuple[str, str]] = []
        for p in points:
            try:
                lines.append(P.to_line(p))
            except StoreError as exc:
                rejected.append((_describe(p), str(exc)))
        return self._write_lines(lines, rejected)

    def _convert(self, items: Iterable[Any], fn: Any) -> WriteReport:
        lines: list[str] = []
        rejected: list[tuple[str, str]] = []
        for item in items:
            try:
                made = fn(item)
                for p in made if isinstance(made, list) else [made]:
                    lines.append(P.to_line(p))
            except StoreError as exc:
                desc = (getattr(item, "id", None) or getattr(item, "station", None)
                        or repr(item)[:80])
                log.warning("point rejected (%s): %s", desc, exc)
                rejected.append((str(desc), str(exc)))
        return self._write_lines(lines, rejected)

    def write_picks(self, picks: Iterable[Pick], solution: str | None = None) -> WriteReport:
        """``picks`` measurement, one point per pick (``solution``: the tag, e.g.
        :data:`~seismo.io.store.points.STREAM_SOLUTION`)."""
        return self._convert(picks, lambda p: P.pick_point(p, solution))

    def write_heartbeat(self, host: str, time: UTCDateTime, **fields: Any) -> WriteReport:
        """One ``stream_heartbeat`` point."""
        return self._convert([fields], lambda f: P.heartbeat_point(host, time, f))

    def last_heartbeat(self, since: UTCDateTime | None = None,
                       host: str | None = None) -> dict[str, Any] | None:
        """The newest ``stream_heartbeat`` row (``time`` in µs since epoch; of the ``host``
        tag when given), or None."""
        rows = self.query(Q.latest_heartbeat(since, host))
        return rows[0] if rows else None

    def last_heartbeats(self, since: UTCDateTime | None = None) -> list[dict[str, Any]]:
        """The newest ``stream_heartbeat`` row of every ``host`` tag (``time`` in µs since
        epoch), newest first."""
        rows = self.query(Q.latest_heartbeat_per_host(since))
        return sorted(rows, key=lambda r: -int(r["time"]))

    def write_events(self, events: Iterable[Event], details: bool = True) -> WriteReport:
        """``events`` (one point per version) plus station magnitudes/intensities, site
        intensities when ``details``."""
        return self._convert(events, lambda e: P.event_points(e, details))

    def write_station_results(
        self, results: Iterable[StationResult], window_end: UTCDateTime
    ) -> WriteReport:
        """``station_status`` at ``window_end``: samples, error flag, channels, picks.

        (Picks themselves go through :meth:`write_picks`.)"""
        return self._convert(results, lambda r: P.station_status_point(r, window_end))

    def write_health(self, healths: Iterable[StationHealth]) -> WriteReport:
        """``station_health`` at each window end."""
        return self._convert(healths, P.health_point)

    def write_alerts(self, records: Iterable[Mapping[str, Any]]) -> WriteReport:
        """``alerts``: generic delivery records (identifier, sent, event_id, msg_type,
        status, group, channel, ...)."""
        return self._convert(records, P.alert_point)

    def write_alert_record(self, **record: Any) -> WriteReport:
        """One alert record given as keywords (see :meth:`write_alerts`)."""
        return self.write_alerts([record])

    def _write_lines(self, lines: list[str], rejected: list[tuple[str, str]]) -> WriteReport:
        if not lines:
            return WriteReport(rejected=rejected)
        if not self.enabled:
            return WriteReport(rejected=rejected, skipped=len(lines))
        try:
            own = [
                (self.spool.append(lines[i:i + self.batch_size]),
                 len(lines[i:i + self.batch_size]))
                for i in range(0, len(lines), self.batch_size)
            ]
        except StoreError as exc:
            return self._write_unspooled(lines, rejected, str(exc))
        report = WriteReport(rejected=rejected)
        result = _DrainResult()
        if time.monotonic() >= self._down_until:
            result = self._drain()
        own_paths = set()
        for path, n in own:
            own_paths.add(path)
            if path in result.sent:
                bad = result.rejected.get(path, [])
                report.written += n - len(bad)
                report.rejected += bad
            else:
                report.spooled += n
        report.replayed = sum(n for p, n in result.sent.items() if p not in own_paths)
        report.kept_foreign = self._report_foreign(result.foreign)
        for p, bad in result.rejected.items():
            if p not in own_paths:
                report.rejected += bad
        if report.spooled:
            log.warning("InfluxDB write: %d points spooled in %s (%s)", report.spooled,
                        self.spool.directory, result.error or "server marked down")
        return report

    def _write_unspooled(
        self, lines: list[str], rejected: list[tuple[str, str]], spool_error: str
    ) -> WriteReport:
        """The spool is unusable: send ``lines`` now, without a safety copy.

        Raises:
            StoreError: the server could not take them either (the points are
                lost to this process; the caller must report it and retry).
        """
        log.error("STORE SPOOL UNUSABLE: %s; sending %d points without a spool copy",
                  spool_error, len(lines))
        report = WriteReport(rejected=rejected)
        try:
            transport = self._get_transport()
            for i in range(0, len(lines), self.batch_size):
                batch = lines[i:i + self.batch_size]
                bad = self._send_isolating(transport, batch, 0)
                report.written += len(batch) - len(bad)
                report.rejected += [(_line_desc(batch[j]), why) for j, why in bad]
        except StoreUnavailable as exc:
            self.close()
            lost = len(lines) - report.written - (report.n_rejected - len(rejected))
            raise StoreError(f"{lost} points not stored: {spool_error}, and {exc}") from None
        return report

    def flush_spool(self) -> WriteReport:
        """Replay every spooled segment in order (ignores the retry interval)."""
        if not self.enabled:
            return WriteReport(skipped=self.spool.pending_lines())
        result = self._drain()
        report = WriteReport(
            replayed=sum(result.sent.values()),
            rejected=[r for bad in result.rejected.values() for r in bad],
        )
        report.spooled = self.spool.pending_lines()
        report.replayed -= report.n_rejected
        if result.error:
            log.warning("spool flush stopped: %s", result.error)
        self._foreign_said.clear()  # a flush always says it
        report.kept_foreign = self._report_foreign(self.spool.foreign())
        return report

    def _report_foreign(self, foreign: dict[str, int]) -> dict[str, int]:
        """Segments a replay left for another destination: logged (once per destination
        and count in this process) and returned for the write report."""
        out = {mask_secrets(d): n for d, n in foreign.items()}
        for dest, n in out.items():
            if self._foreign_said.get(dest) != n:
                self._foreign_said[dest] = n
                log.warning("%d spool segments in %s are for %s, not for this store (%s): kept "
                            "for that destination (a store with that configuration replays "
                            "them)", n, self.spool.directory, dest,
                            mask_secrets(self.spool.destination or ""))
        return out

    def pending(self) -> int:
        """Points waiting in the spool."""
        return self.spool.pending_lines()

    def _drain(self) -> _DrainResult:
        """Send every pending segment, oldest first; small segments are coalesced into
        requests of up to ``batch_size`` lines (a long outage leaves one segment per
        write call). A segment is deleted only after its request succeeded."""
        out = _DrainResult()
        with self.spool.lock(self.lock_timeout_s) as got:
            if not got:
                out.error = f"spool {self.spool.directory} is locked by another process"
                return out
            try:
                transport = self._get_transport()
                group: list[tuple[Path, list[str]]] = []
                for seg in self.spool.segments():
                    segment = self.spool.read_segment(seg)
                    if segment is None:  # removed or quarantined
                        continue
                    dest, lines = segment
                    mine = self.spool.destination
                    if dest is not None and mine is not None and dest != mine:
                        out.foreign[dest] = out.foreign.get(dest, 0) + 1  # kept for it
                        continue
                    if group and sum(len(g[1]) for g in group) + len(lines) > self.batch_size:
                        self._send_group(transport, group, out)
                        group = []
                    group.append((seg, lines))
                if group:
                    self._send_group(transport, group, out)
            except StoreUnavailable as exc:
                out.error = str(exc)
                self._down_until = time.monotonic() + self.retry_interval_s
                self.close()  # re-detect the API on the next attempt
        return out

    def _send_group(
        self, transport: Transport, group: list[tuple[Path, list[str]]], out: _DrainResult
    ) -> None:
        lines = [ln for _, seg_lines in group for ln in seg_lines]
        bad = self._send_isolating(transport, lines, 0)
        if bad:
            self.spool.reject([(lines[i], why) for i, why in bad])
            log.error("InfluxDB rejected %d points: first: %s", len(bad), bad[0][1])
        start = 0
        for seg, seg_lines in group:
            stop = start + len(seg_lines)
            out.sent[seg] = len(seg_lines)
            out.rejected[seg] = [(_line_desc(lines[i]), why) for i, why in bad
                                 if start <= i < stop]
            Spool.remove(seg)
            start = stop

    def _get_transport(self) -> Transport:
        if self._transport is None:
            self._transport = make_transport(self.connection)
        return self._transport

    def _send_isolating(
        self, transport: Transport, lines: Sequence[str], offset: int
    ) -> list[tuple[int, str]]:
        """Send ``lines``; on a data rejection bisect; return (index, reason) of bad lines."""
        try:
            transport.write(lines)
            return []
        except StoreRejected as exc:
            if len(lines) == 1:
                return [(offset, str(exc))]
            mid = len(lines) // 2
            return (self._send_isolating(transport, lines[:mid], offset)
                    + self._send_isolating(transport, lines[mid:], offset + mid))

    # ------------------------------------------------------------------ reading
    def query(self, q: str) -> list[dict[str, Any]]:
        """Raw InfluxQL; rows as dicts with ``time`` in µs since epoch."""
        return run_query(self.connection, q)

    def query_events(
        self,
        since: UTCDateTime | None = None,
        until: UTCDateTime | None = None,
        *,
        status: str | None = None,
        min_magnitude: float | None = None,
        all_versions: bool = False,
        summary: bool = False,
    ) -> list[Event]:
        """Events with origin time in [since, until], latest version per event id.

        ``status`` / ``min_magnitude`` filter the latest versions (an event confirmed
        in version 2 is not returned as "automatic"). ``summary`` reads only the
        numeric columns (:data:`~seismo.io.store.queries.EVENT_SUMMARY_FIELDS`): events
        without arrivals, picks or station values, for lists of many events.
        """
        fields = Q.EVENT_SUMMARY_FIELDS if summary else None
        events = [event_from_row(r) for r in self.query(Q.events(since, until, fields))]
        if not all_versions:
            events = latest_versions(events)
        if status is not None:
            events = [e for e in events if e.status == status]
        if min_magnitude is not None:
            events = [e for e in events if e.magnitude is not None and e.magnitude >= min_magnitude]
        return events

    def query_picks(
        self,
        since: UTCDateTime | None = None,
        until: UTCDateTime | None = None,
        *,
        network: str | None = None,
        station: str | None = None,
        phase: str | None = None,
    ) -> list[Pick]:
        """Picks with pick time in [since, until], sorted by time."""
        rows = self.query(Q.picks(since, until, network=network, station=station, phase=phase))
        picks = [pick_from_row(r) for r in rows]
        return sorted(picks, key=lambda p: (p.time, p.seed_id, p.phase))

    def query_health(
        self,
        since: UTCDateTime | None = None,
        until: UTCDateTime | None = None,
        *,
        station: str | None = None,
        status: str | None = None,
    ) -> list[StationHealth]:
        """Channel/station health with window end in [since, until]."""
        rows = self.query(Q.health(since, until, station=station, status=status))
        out = [health_from_row(r) for r in rows]
        return sorted(out, key=lambda h: (h.time, h.network, h.station, h.location, h.channel))

    def query_event_versions(
        self,
        event_id: str,
        since: UTCDateTime | None = None,
        until: UTCDateTime | None = None,
    ) -> list[Event]:
        """Every stored version of ``event_id`` (origin time in [since, until] when
        given), oldest version first."""
        rows = self.query(Q.event_versions(event_id, since, until))
        events = [event_from_row(r) for r in rows if r.get("event_id") == event_id]
        return sorted(events, key=lambda e: (e.version, e.creation_time or e.time))

    def query_alert_records(
        self, event_id: str, since: UTCDateTime | None = None
    ) -> list[dict[str, Any]]:
        """Rows of the ``alerts`` measurement for ``event_id`` (sent at or after
        ``since`` when given), oldest first; ``time`` in µs since epoch."""
        rows = self.query(Q.alert_records(event_id, since))
        return sorted((r for r in rows if r.get("event_id") == event_id),
                      key=lambda r: (r.get("time", 0), str(r.get("identifier"))))

    def query_alerts(
        self, since: UTCDateTime | None = None, until: UTCDateTime | None = None
    ) -> list[dict[str, Any]]:
        """Rows of the ``alerts`` measurement sent in [since, until] (every event), oldest
        first; ``time`` in µs since epoch."""
        rows = self.query(Q.alerts_between(since, until))
        return sorted(rows, key=lambda r: (r.get("time", 0), str(r.get("identifier"))))

    def query_station_status(self, after: UTCDateTime, until: UTCDateTime) -> list[dict[str, Any]]:
        """``station_status`` rows (samples, error, network, station) of the windows
        ending in (after, until]; ``time`` (the window end) in µs since epoch."""
        return self.query(Q.station_status(after, until))

    def count(
        self, measurement: str, since: UTCDateTime | None = None, until: UTCDateTime | None = None
    ) -> int:
        """Number of points in ``measurement`` (optionally in a time range)."""
        rows = self.query(Q.count(measurement, since, until))
        if not rows:
            return 0
        counts = [v for k, v in rows[0].items() if k.startswith("count") and isinstance(v, int)]
        return max(counts) if counts else 0


def _describe(p: Any) -> str:
    try:
        return P.describe_point(p)
    except (AttributeError, TypeError, ValueError):  # not a StorePoint: show what it is
        return repr(p)[:120]


def _line_desc(line: str) -> str:
    return line if len(line) <= 200 else line[:200] + "…"
