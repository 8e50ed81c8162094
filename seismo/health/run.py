"""Network health runs: fetch a window, assess every station, store, notify on change.

Side effects (feeds, store, alerts, state file) live here, at the edge; the
metrics and status rules in :mod:`seismo.health.status` are pure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, Unpack

from obspy import Inventory, UTCDateTime

from seismo.boundary import boundary
from seismo.errors import InventoryError
from seismo.health.settings import HealthConfig
from seismo.health.state import HealthStateTracker, StatusChange
from seismo.health.status import ChannelAssessment, assess_station
from seismo.inventory import StationInfo, load_inventory
from seismo.inventory import stations as inv_stations
from seismo.io.feeds import fetch_window
from seismo.io.feeds.settings import FeedsConfig
from seismo.model import StationHealth
from seismo.network import NetworkConfig
from seismo.simulate.settings import SimulatorConfig
from seismo.station.settings import InstrumentConfig

log = logging.getLogger(__name__)


class HealthRunSettings(Protocol):
    """The sections a health run reads (the whole ``Settings`` has them): ``[health]`` and
    ``[instrument]`` (the rules), ``[network]`` (the inventory), ``[feeds]`` and, for
    ``sim://``, ``[simulator]`` (where the data come from)."""

    @property
    def health(self) -> HealthConfig: ...
    @property
    def instrument(self) -> InstrumentConfig: ...
    @property
    def network(self) -> NetworkConfig: ...
    @property
    def feeds(self) -> FeedsConfig: ...
    @property
    def simulator(self) -> SimulatorConfig: ...


class HealthSink(Protocol):
    """What :func:`run_health` needs from the store (``seismo.io.store.InfluxStore``)."""

    def write_health(self, healths: Iterable[StationHealth]) -> Any: ...


class NoticeSender(Protocol):
    """What :func:`run_health` needs from the alerts (``seismo.alerts.AlertService``)."""

    def send_notice(self, group: str, subject: str, text: str, key: str, *,
                    subject_zh: str | None = None, text_zh: str | None = None) -> Any: ...


@dataclass
class HealthRun:
    """One assessed window: results plus what reports draw."""

    start: UTCDateTime
    end: UTCDateTime
    now: UTCDateTime
    results: list[StationHealth]
    channels: dict[str, list[ChannelAssessment]] = field(default_factory=dict)  # by NET.STA

    def summaries(self) -> list[StationHealth]:
        """The station summaries (``channel == ""``)."""
        return [h for h in self.results if not h.channel]


@dataclass
class HealthRunResult:
    """What :func:`run_health` did."""

    run: HealthRun
    changes: list[StatusChange]
    write_report: Any = None
    notice_sent: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def results(self) -> list[StationHealth]:
        return self.run.results


def _select(inventory: Inventory, ids: Sequence[str] | None, at: UTCDateTime) -> list[StationInfo]:
    infos = inv_stations(inventory, at)
    if ids is None:
        return infos
    by_id = {s.id: s for s in infos}
    by_code: dict[str, list[StationInfo]] = {}
    for s in infos:
        by_code.setdefault(s.station, []).append(s)
    out: list[StationInfo] = []
    for sid in ids:
        if sid in by_id:
            out.append(by_id[sid])
        elif len(by_code.get(sid, [])) == 1:  # a bare station code, unambiguous
            out.append(by_code[sid][0])
        else:
            raise InventoryError(f"station {sid!r} is not (unambiguously) in the inventory")
    return out


def window_for(
    cfg: HealthConfig, end: UTCDateTime | None, now: UTCDateTime | None
) -> tuple[UTCDateTime, UTCDateTime, UTCDateTime]:
    """``(start, end, now)``: ``end`` defaults to ``now`` (wall clock); ``now`` to ``end``;
    the window is ``cfg.window_s`` long.

    A past window is judged as seen at its end unless ``now`` is given.
    """
    if end is None:
        now = now if now is not None else UTCDateTime.now()
        end = now
    elif now is None:
        now = end
    return end - cfg.window_s, end, now


class Selection(TypedDict, total=False):
    """What a health run assesses besides its window's end (all optional): ``stations``
    restricts it to ``NET.STA`` ids (or unambiguous station codes), ``feed_url``
    overrides the configured feeds, ``now`` is when latency is measured (default: the
    window's end)."""

    stations: Sequence[str] | None
    feed_url: str | None
    now: UTCDateTime | None


def assess_network(
    settings: HealthRunSettings,
    inventory: Inventory | None = None,
    end: UTCDateTime | None = None,
    *,
    tracker: HealthStateTracker | None = None,
    **selection: Unpack[Selection],
) -> HealthRun:
    """Fetch ``[end - window_s, end)`` from every station and assess it (see check_network);
    ``tracker`` (the health state) gives each channel's noise baseline (read only)."""

    inv = inventory if inventory is not None else load_inventory(settings.network.inventory)
    start, end, now = window_for(settings.health, end, selection.get("now"))
    infos = _select(inv, selection.get("stations"), start)
    fetched = fetch_window(
        settings.feeds, inv, start, end, feed_url=selection.get("feed_url"),
        stations=[s.id for s in infos],
        simulator=settings.simulator, network=settings.network,
    )
    results: list[StationHealth] = []
    channels: dict[str, list[ChannelAssessment]] = {}
    for info in infos:
        fr = fetched.get(info.id)
        stream = fr.stream if fr is not None else None
        error = fr.error if fr is not None else "not fetched"
        with boundary("health assessment", logger=log, station=info.id) as failure:
            chans, summary = assess_station(
                stream, info, start, end, now, settings.health,
                instrument=settings.instrument, fetch_error=error, inventory=inv,
                baselines=tracker.baselines(info.id) if tracker is not None else None,
            )
        if failure:  # one failing station never stops the others
            chans, summary = assess_station(
                None, info, start, end, now, settings.health,
                instrument=settings.instrument, fetch_error=failure.reason,
            )
        channels[info.id] = chans
        results.extend(a.health for a in chans)
        results.append(summary)
    return HealthRun(start=start, end=end, now=now, results=results, channels=channels)


def check_network(
    settings: HealthRunSettings,
    inventory: Inventory | None = None,
    end: UTCDateTime | None = None,
    **selection: Unpack[Selection],
) -> list[StationHealth]:
    """Health of every station (channels then summary) over ``[end - window_s, end)``.

    Data come from :func:`seismo.io.feeds.fetch_window` (``feed_url`` overrides the
    configured feeds). ``end`` defaults to the wall clock; latency is measured
    at ``now``, which defaults to ``end``. ``stations`` restricts the run to
    ``NET.STA`` ids (or unambiguous station codes).

    Raises:
        InventoryError: a requested station is not in the inventory.
    """
    return assess_network(settings, inventory, end, **selection).results


_STATUS_ZH = {"OK": "正常", "WARN": "警告", "FAIL": "故障"}


def notice_text(changes: Sequence[StatusChange], run: HealthRun) -> tuple[str, str, str]:
    """``(subject, text, key)`` of the engineers' notice for status changes."""
    worse = sum(1 for c in changes if c.new != "OK")
    subject = (
        f"Station health: {len(changes)} station(s) changed status "
        f"({worse} degraded, {len(changes) - worse} recovered)"
    )
    lines = [f"Window {run.start} - {run.end} (UTC)", ""]
    lines += [c.describe() for c in changes]
    key = "health:" + ",".join(f"{c.station_id}={c.new}" for c in changes) + f"@{run.end}"
    return subject, "\n".join(lines) + "\n", key


def notice_text_zh(changes: Sequence[StatusChange], run: HealthRun) -> tuple[str, str]:
    """``(subject, text)`` of the notice in Chinese (the reasons stay as measured)."""
    worse = sum(1 for c in changes if c.new != "OK")
    subject = (f"台站状态：{len(changes)}个台站状态变化（{worse}个变差，"
               f"{len(changes) - worse}个恢复）")
    lines = [f"时段 {run.start} 至 {run.end}（UTC）", ""]
    lines += [f"{c.station_id}：{_STATUS_ZH[c.old]} → {_STATUS_ZH[c.new]}"
              f"（{'；'.join(c.reasons) if c.reasons else '各项检查通过'}）" for c in changes]
    return subject, "\n".join(lines) + "\n"


def run_health(
    settings: HealthRunSettings,
    inventory: Inventory | None = None,
    end: UTCDateTime | None = None,
    *,
    store: HealthSink | None = None,
    alerts: NoticeSender | None = None,
    tracker: HealthStateTracker | None = None,
    **selection: Unpack[Selection],
) -> HealthRunResult:
    """Assess the network, write every result to ``store``, notify engineers of changes.

    ``store`` (e.g. ``InfluxStore.from_settings(settings.store)``) receives all
    results on every run. Status changes since the last run come from
    ``tracker`` (default: ``HealthStateTracker(settings.health.state_file)``);
    when there are any, one notice goes to ``alerts`` group
    ``settings.health.notify_group``. The new state is saved only after the
    notice was handed over (or when there is no ``alerts``), so a failed notice
    is retried next run. ``store``/``alerts`` None: that side effect is skipped.
    Store and alert failures are logged and listed in ``errors``; they never raise.
    """
    tr = tracker if tracker is not None else HealthStateTracker(settings.health.state_file)
    run = assess_network(settings, inventory, end, tracker=tr, **selection)
    out = HealthRunResult(run=run, changes=[])
    if store is not None:
        with boundary("writing health results", logger=log, level=logging.ERROR) as failure:
            out.write_report = store.write_health(run.results)
        if failure:
            out.errors.append(f"store: {failure.reason}")
    summaries = run.summaries()
    out.changes = tr.changes(summaries)
    for c in out.changes:
        log.info("health change %s", c.describe())
    commit = True
    if out.changes and alerts is not None:
        subject, text, key = notice_text(out.changes, run)
        subject_zh, text_zh = notice_text_zh(out.changes, run)
        with boundary("health notice", logger=log, level=logging.ERROR,
                      group=settings.health.notify_group) as failure:
            alerts.send_notice(settings.health.notify_group, subject, text, key,
                               subject_zh=subject_zh, text_zh=text_zh)
            out.notice_sent = True
        if failure:  # the state is kept, so the notice is tried again next run
            out.errors.append(f"alerts: {failure.reason}")
            commit = False
    if commit:
        tr.record(run.results, settings.health.psd_baseline_runs)
    return out
