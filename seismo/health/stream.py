"""Is ``seismo stream`` alive? Its heartbeat in InfluxDB says so.

``seismo stream`` writes a ``stream_heartbeat`` point every ``[stream]
heartbeat_s`` (10 s). The station-health run (the health DAG) reads the newest
one: older than ``[stream] heartbeat_down_s`` (60 s, six missed beats), or none in
the last day, and the stream is *down*. Then the health run logs an error, says
so in its result, and queues one notice per outage (the key is the last beat) to
the engineers' group (``[health] notify_group``) and to the on-call group: while
the stream is down, alerts come from the minute-by-minute DAG only, a minute or
two later (docs/streaming.md).
"""

from __future__ import annotations

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

    def to_dict(self) -> dict[str, Any]:
        return {"up": self.up, "last_heartbeat": None if self.last is None else str(self.last),
                "detail": self.detail}


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
    """Read the newest heartbeat from ``store``; on "down" log and notify (module doc).

    ``monitored`` and ``down_after_s`` are ``[stream] monitored`` and
    ``heartbeat_down_s``; the notice goes to ``notify_group`` (``[health]``) and on-call.
    """
    if not monitored or store is None:
        return StreamStatus(None, detail="seismo stream not monitored")
    with boundary("stream heartbeat read", logger=log) as failure:
        row = store.last_heartbeat(now - LOOKBACK_S)
    if failure:  # the store cannot tell: say so, no notice
        return StreamStatus(None, detail=f"heartbeat unreadable: {failure.error}")
    last = utc_from_us(int(row["time"])) if row else None
    status = stream_status(last, now, down_after_s)
    if status.up is False:
        log.error("%s", status.detail)
        if alerts is not None:
            key = f"stream-down.{last.strftime('%Y%m%dT%H%M%S') if last else 'never'}"
            text = (f"{status.detail}.\nUntil it is back, alerts come from the "
                    "minute-by-minute detection only (a minute or two later).")
            when = ("最近一次心跳：" + last.strftime("%Y-%m-%d %H:%M:%S") + "（UTC）"
                    if last else f"最近{LOOKBACK_S / 3600:.0f}小时内无心跳")
            text_zh = (f"实时检测（seismo stream）已中断，{when}。恢复之前，地震速报仅来自逐分钟"
                       "处理（晚一到两分钟）。")
            for group in dict.fromkeys((notify_group, "oncall")):
                # the health run goes on
                with boundary("stream-down notice", logger=log, level=logging.ERROR,
                              group=group):
                    alerts.send_notice(group, "Real-time detector (seismo stream) down", text,
                                       key, subject_zh="实时检测（seismo stream）中断",
                                       text_zh=text_zh)
    return status
