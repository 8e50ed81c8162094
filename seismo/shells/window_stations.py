"""One station of one window: its data read, picked and reduced to amplitude peaks.

Waveforms never leave :func:`process_station`: what crosses task boundaries is a
:class:`~seismo.model.StationResult` (picks and per-second amplitude peaks). One
station's failure is its result's error, never the other stations'.

Imports: the station stages and the feeds (SciPy's signal processing, numba, the
SeedLink client: ~2 s to import) are imported only when a station is processed. A
DAG task that plans a window, measures events or stores them starts without them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence

from obspy import Stream, UTCDateTime

from seismo.boundary import boundary
from seismo.errors import FeedError, SeismoError
from seismo.inventory import report_response_gaps
from seismo.model import AmplitudeSeries, StationResult
from seismo.shells.window_context import Context, Window

log = logging.getLogger(__name__)

StreamSource = Callable[[str, UTCDateTime, UTCDateTime], Stream]


def report_station_responses(ctx: Context, station_ids: Iterable[str]) -> str | None:
    """Warn about the channels of ``station_ids`` without a usable response (the part of
    :func:`seismo.inventory.report_response_gaps` a station task is responsible for)."""
    return report_response_gaps(ctx.inventory, stations=set(station_ids))


def fetch_stations(
    ctx: Context,
    station_ids: Sequence[str],
    window: Window,
    feed_url: str | None = None,
    max_workers: int = 1,
) -> dict[str, Stream | FeedError]:
    """Read some stations' data for ``window`` (with pre- and post-roll) from their
    feeds, ``max_workers`` requests at a time; a station's failure is its FeedError."""

    from seismo.io.feeds import fetch_window  # lazily: see the module docstring

    got = fetch_window(
        ctx.settings.feeds,
        ctx.inventory,
        window.data_start,
        window.data_end,
        feed_url=feed_url,
        stations=list(station_ids),
        max_workers=max(1, min(max_workers, len(station_ids))),
        simulator=ctx.settings.simulator,
        network=ctx.settings.network,
    )
    out: dict[str, Stream | FeedError] = {}
    for sid, res in got.items():
        if res.error:
            out[sid] = FeedError(res.error, station=sid)
        else:
            out[sid] = res.stream if res.stream is not None else Stream()
    return out


def fetch_station(
    ctx: Context, station_id: str, window: Window, feed_url: str | None = None
) -> Stream:
    """Read one station's data for ``window`` (with pre- and post-roll) from its feed."""
    got = fetch_stations(ctx, [station_id], window, feed_url)[station_id]
    if isinstance(got, FeedError):
        raise got
    return got


def window_stream(stream: Stream, window: Window) -> Stream:
    """The samples of ``stream`` in the window's data span ``[data_start, data_end)`` (a copy).

    The half-open rule of the feeds (:func:`seismo.io.feeds.base.trim_half_open`): a
    stream fetched for the window and a longer stream cut here hold the same samples.
    """
    from seismo.io.feeds.base import trim_half_open  # lazily: see the module docstring

    return trim_half_open(stream, window.data_start, window.data_end)


def station_window_amplitudes(
    ctx: Context, stream: Stream, window: Window
) -> AmplitudeSeries | None:
    """Per-second amplitude peaks of one station over the window's data span.

    ``stream`` holds exactly the window's data span (:func:`window_stream`): the
    per-window path and ``seismo detect`` call this on the same samples, so they
    measure the same ML and intensity.
    """
    from seismo.station.amplitudes import station_amplitudes  # lazily: module docstring

    return station_amplitudes(
        stream, ctx.inventory, window.data_start, round(window.data_end - window.data_start),
        ctx.settings.intensity, instrument=ctx.settings.instrument,
    )


def process_station(
    ctx: Context,
    station_id: str,
    window: Window,
    *,
    stream: Stream | FeedError | None = None,
    feed_url: str | None = None,
) -> StationResult:
    """Picks and per-second amplitude peaks of one station for one window.

    ``stream``: the station's data when already read (or the FeedError its read gave,
    :func:`fetch_stations`); else it is fetched here. Never raises for a station
    problem: a feed or processing failure is returned in ``StationResult.error`` so
    that other stations go on.
    """

    net, _, sta = station_id.partition(".")
    try:
        if isinstance(stream, FeedError):
            raise stream
        st = stream if stream is not None else fetch_station(ctx, station_id, window, feed_url)
    except SeismoError as exc:
        log.warning("station %s: %s", station_id, exc)
        return StationResult(network=net, station=sta, error=str(exc))
    from seismo.station.picker import pick_stream  # lazily: see the module docstring
    from seismo.station.processing import drop_foreign_rates

    st = window_stream(st, window)
    st, dropped = drop_foreign_rates(st, ctx.inventory)
    for what in dropped:
        log.warning("station %s: %s", station_id, what)
    n_samples = sum(int(tr.stats.npts) for tr in st)
    channels = tuple(sorted({tr.id for tr in st}))
    if n_samples == 0:
        return StationResult(network=net, station=sta, error="no data in window", channels=channels)
    with boundary("processing", logger=log, station=station_id) as failure:
        picks = pick_stream(
            st, ctx.inventory, ctx.picker_cfg(station_id), instrument=ctx.settings.instrument,
            start=window.data_start, end=window.data_end,
        )
        amps = station_window_amplitudes(ctx, st, window)
    res = StationResult(network=net, station=sta, n_samples=n_samples, channels=channels)
    if failure:  # keep the other stations going; the error is reported
        return dataclasses.replace(res, error=f"processing failed: {failure.reason}")
    return dataclasses.replace(res, picks=tuple(picks), amplitudes=amps)


def _station_results(
    ctx: Context, ids: Sequence[str], window: Window, feed_url: str | None,
    source: StreamSource | None,
) -> list[StationResult]:
    results = []
    for sid in ids:
        stream = None
        if source is not None:
            try:
                stream = source(sid, window.data_start, window.data_end)
            except SeismoError as exc:
                net, _, sta = sid.partition(".")
                results.append(StationResult(network=net, station=sta, error=str(exc)))
                continue
        results.append(process_station(ctx, sid, window, stream=stream, feed_url=feed_url))
    return results
