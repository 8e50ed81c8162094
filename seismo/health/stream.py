"""Is ``seismo stream`` alive? Its heartbeat in InfluxDB says so.

``seismo stream`` writes a ``stream_heartbeat`` point every ``[stream]
heartbeat_s`` (10 s). The station-health run (the health DAG) reads the newest
one: older than ``[stream] heartbeat_down_s`` (60 s, six missed beats), or none in
the last day, and the stream is *down*. Then the health run logs an error, says
so in its result, and queues one notice per outage (the key is the last beat) to
the engineers' group (``[health] notify_group``) and to the on-call group: while
the stream is down, alerts come from the minute-by-minute DAG only, a minute or
two later (docs/streaming.md).

A split stream (``--role pickers --part K/N`` and ``--role associator``) beats once per
process, each with its own ``host`` tag. While the stream as a whole is up, a process
whose beats stopped more than ``heartbeat_down_s`` ago without its last beat saying
``stopped`` (a process that shuts down cleanly says so) is *down* on its own: its
stations are picked by the window pass only. The check names it, logs an error and
queues one notice per outage of that process (the key is its host and last beat) to the
same groups.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from obspy import UTCDateTime

from seismo.boundary import boundary
from seismo.io.store.points import utc_from_us

log = logging.getLogger(__name__)

#: How far back a heartbeat is looked for (s): beyond it the stream is "never seen".
LOOKBACK_S = 86400.0


@dataclass(frozen=True)
class StreamStatus:
    """``up``: None when the stream is not monitored or the store cannot tell."""

    up: bool | None
    last: UTCDateTime | None = None
    detail: str = ""
    #: the processes (host tags) of a running stream whose beats stopped (module doc)
    down_hosts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"up": self.up, "last_heartbeat": None if self.last is None else str(self.last),
                "detail": self.detail, "down_hosts": list(self.down_hosts)}


def stream_status(last: UTCDateTime | None, now: UTCDateTime, down_after_s: float) -> StreamStatus:
    """Up or down from the newest heartbeat time (pure)."""
    if last is None:
        return StreamStatus(False, None, f"seismo stream is down: no heartbeat in the last "
                                         f"{LOOKBACK_S / 3600:.0f} h")
    age = float(now - last)
    if age > down_after_s:
        return StreamStatus(False, last, f"seismo stream is down: last heartbeat {last} "
                                         f"({age:.0f} s ago, > {down_after_s:g} s)")
    return StreamStatus(True, last, f"seismo stream is up (heartbeat {age:.0f} s ago)")


def check_stream(
    store: Any,
    alerts: Any,
    now: UTCDateTime,
    *,
    monitored: bool,
    down_after_s: float,
    notify_group: str,
) -> StreamStatus:
    """Read the newest heartbeat of every process from ``store``; on "down" (the stream,
    or one process of a running split stream) log and notify (module doc).

    ``monitored`` and ``down_after_s`` are ``[stream] monitored`` and
    ``heartbeat_down_s``; the notice goes to ``notify_group`` (``[health]``) and on-call.
    """
    if not monitored or store is None:
        return StreamStatus(None, detail="seismo stream not monitored")
    with boundary("stream heartbeat read", logger=log) as failure:
        rows = store.last_heartbeats(now - LOOKBACK_S)
    if failure:  # the store cannot tell: say so, no notice
        return StreamStatus(None, detail=f"heartbeat unreadable: {failure.error}")
    last = utc_from_us(int(rows[0]["time"])) if rows else None
    status = stream_status(last, now, down_after_s)
    if status.up is False:
        log.error("%s", status.detail)
        when = ("最近一次心跳：" + last.strftime("%Y-%m-%d %H:%M:%S") + "（UTC）"
                if last else f"最近{LOOKBACK_S / 3600:.0f}小时内无心跳")
        _notify(alerts, notify_group,
                f"stream-down.{last.strftime('%Y%m%dT%H%M%S') if last else 'never'}",
                "Real-time detector (seismo stream) down",
                f"{status.detail}.\nUntil it is back, alerts come from the "
                "minute-by-minute detection only (a minute or two later).",
                "实时检测（seismo stream）中断",
                f"实时检测（seismo stream）已中断，{when}。恢复之前，地震速报仅来自逐分钟"
                "处理（晚一到两分钟）。")
        return status
    if status.up is not True:
        return status
    down = []
    for row in rows:  # the processes of a running (split) stream
        host, t = str(row.get("host") or "unknown"), utc_from_us(int(row["time"]))
        age = float(now - t)
        if age <= down_after_s or row.get("stopped"):
            continue
        down.append(host)
        detail = (f"seismo stream process {host} is down: last heartbeat {t} ({age:.0f} s "
                  f"ago, > {down_after_s:g} s) while the others beat")
        log.error("%s", detail)
        _notify(alerts, notify_group, f"stream-host-down.{host}.{t.strftime('%Y%m%dT%H%M%S')}",
                f"Real-time detector process {host} down",
                f"{detail}.\nUntil it is back, the stations it picked give alerts from the "
                "minute-by-minute detection only (a minute or two later).",
                f"实时检测进程 {host} 中断",
                f"实时检测进程 {host} 已中断，最近一次心跳：{t.strftime('%Y-%m-%d %H:%M:%S')}"
                "（UTC）。恢复之前，其台站的地震速报仅来自逐分钟处理（晚一到两分钟）。")
    if not down:
        return status
    return dataclasses.replace(status, detail=f"{status.detail}; down: {', '.join(down)}",
                               down_hosts=tuple(down))


def _notify(alerts: Any, notify_group: str, key: str, subject: str, text: str,
            subject_zh: str, text_zh: str) -> None:
    """One notice (``key``: once per outage) to ``notify_group`` and on-call; the health
    run goes on whatever the delivery does."""
    if alerts is None:
        return
    for group in dict.fromkeys((notify_group, "oncall")):
        with boundary("stream-down notice", logger=log, level=logging.ERROR, group=group):
            alerts.send_notice(group, subject, text, key, subject_zh=subject_zh,
                               text_zh=text_zh)
