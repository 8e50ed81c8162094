"""Settings of the shells: ``[pipeline]`` (windows, chunks, event identity), ``[stream]``
(``seismo stream``, docs/streaming.md), ``[report]`` (bulletins and plots) and
``[airflow]`` (the DAGs' sizing and time budget, docs/airflow.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from seismo.config.base import DelayS, SpanS, StrictModel, TimeoutS, require_order

__all__ = ["AirflowConfig", "BrokerConfig", "PipelineConfig", "ReportConfig", "StreamConfig",
           "available_cores"]


class PipelineConfig(StrictModel):
    window_s: Annotated[float, Field(ge=10, le=3600)] = Field(
        60.0, description="processing window (s); below 10 s the pre-/post-roll read for every "
        "window multiplies the work without lowering latency"
    )
    preroll_s: SpanS = 30.0
    postroll_s: SpanS = 60.0
    safety_margin_s: SpanS = 30.0
    window_offset_s: Annotated[float, Field(ge=0, le=3600)] = Field(
        0.0, description="windows end at times that are this many seconds past a multiple "
        "of window_s (s): with a run every window_s on the minute, postroll_s + "
        "safety_margin_s before the next minute, so a run processes a window that has just "
        "become complete (docs/streaming.md, DAG latency)"
    )
    event_id_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,15}$")] = "seismo"
    chunk_s: Annotated[float, Field(ge=10, le=86400)] = Field(
        1800.0, description="seismo detect reads this much data at once (s, <= one day); a "
        "worker holds its stations' raw data for one chunk (design choice: 30 min keeps 24 h "
        "of 20 stations under 1 GB with 2 workers, benchmarks/README.md)"
    )
    # Event identity (seismo.event.identity, docs/reliability.md): a new solution is
    # the same event as a known one when both its origin time and its epicentre are
    # this close. Design choice: losing or regaining the nearest station of a city
    # network moves the origin by ~0.1-2 s and the epicentre by a few km (more
    # outside the network); two real events this close in time and space cannot be
    # told apart by the associator either (stack_window_s).
    event_match_time_s: Annotated[float, Field(gt=0, le=60)] = Field(
        5.0, description="origin-time tolerance for matching a solution to a known event (s)"
    )
    event_match_distance_km: Annotated[float, Field(gt=0, le=200)] = Field(
        30.0, description="epicentre tolerance for matching a solution to a known event (km)"
    )
    processes: Annotated[int, Field(ge=0, le=256)] = Field(
        0, description="seismo detect worker processes (0: one per core; 1: in-process)"
    )
    revisit_max_s: Annotated[float, Field(ge=0, le=1800)] = Field(
        240.0, description="a window whose own event has not crossed the network whole by the "
        "window's data end (its P at every station; a distant event's S too) is processed "
        "again once it has, up to this long after the window's end (s; docs/location.md, "
        "'Window edges'; design choice: the S of an event 1000 km away, the association's "
        "reach, comes ~100 s after its P, and a distant event's P takes up to ~30 s to cross "
        "a regional network; 0: never)"
    )
    cache_dir: Path | None = Field(
        Path("../var/cache"),
        description="travel-time tables computed once and reused by every process (none: "
        "each process computes them)",
    )

    @model_validator(mode="after")
    def _chunk(self) -> PipelineConfig:
        require_order(self, "chunk_s", "must be >=", "window_s")
        require_order(self, "window_offset_s", "must be below", "window_s")
        return self

# --------------------------------------------------------------------------- stream
class BrokerConfig(StrictModel):
    """``[stream.broker]``: the Redis Streams between the picker parts and the associator
    of ``seismo stream --role pickers|associator`` (docs/streaming.md, "Split"). Unused
    by the single process."""

    url: str | None = Field(
        None, description="Redis URL (redis://host:port/db, no password: see password_env); "
        "the stack writes its own Redis there (a database apart from Celery's)"
    )
    password_env: str = Field(
        "SEISMO_REDIS_PASSWORD", description="environment variable holding Redis's password "
        "(unset: none)"
    )
    prefix: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9:_.-]+$")] = (
        Field("seismo:stream", description="key prefix of the streams (<prefix>:stations)")
    )
    maxlen: Annotated[int, Field(ge=100, le=10_000_000)] = Field(
        2000, description="entries kept in the stream (XADD MAXLEN ~, approximate trimming): "
        "one per part every publish_every_s, ~1.2 kB per station and second (2 parts, 0.5 s: "
        "2000 entries = 500 s, ~300 MB at 500 stations); a restarted associator replays "
        "the peaks of what is kept"
    )
    publish_every_s: Annotated[float, Field(gt=0, le=10)] = Field(
        0.5, description="a picker part publishes its new picks and peaks this often (s)"
    )
    buffer_s: Annotated[float, Field(ge=10, le=3600)] = Field(
        300.0, description="while Redis is unreachable a picker part keeps this much of "
        "its messages (s; older ones are dropped, logged) and sends them when it is back"
    )
    group: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        "associator", description="consumer group of the associator"
    )


class StreamConfig(StrictModel):
    """``seismo stream``, the real-time detector (docs/streaming.md; every default's
    reasoning there)."""

    feed: str | None = Field(
        None, description="SeedLink URL (seedlink://host:port) of every station; default: the "
        "station's feed ([feeds] default/overrides) when that is a seedlink:// URL"
    )
    state_file: Path = Field(
        Path("../var/stream_state.json"),
        description="Where the stream keeps its sequence numbers, recent picks and open events",
    )
    event_archive_dir: Path = Field(
        Path("../var/event_waveforms"),
        description="Where the stream writes each event's miniSEED (<id>.mseed), read by "
        "review, plots and the console after the feed's buffer has moved on",
    )
    event_archive_pre_s: Annotated[float, Field(ge=0, le=600)] = Field(
        60.0, description="seconds of waveforms kept before the origin in the event archive"
    )
    event_archive_post_s: Annotated[float, Field(ge=10, le=1800)] = Field(
        180.0, description="seconds of waveforms kept after the origin in the event archive"
    )
    pool_s: Annotated[float, Field(ge=30, le=3600)] = Field(
        120.0, description="picks this recent take part in association (s); regional S-P "
        "delays reach ~90 s"
    )
    close_after_s: Annotated[float, Field(ge=5, le=3600)] = Field(
        60.0, description="an event is closed after this long without new picks or amplitudes (s)"
    )
    cancel_after_s: Annotated[float, Field(ge=1, le=3600)] = Field(
        20.0, description="an announced event no association run has found for this long is "
        "cancelled (s)"
    )
    associate_every_s: Annotated[float, Field(gt=0, le=60)] = Field(
        0.5, description="shortest interval between two association runs (s)"
    )
    heartbeat_s: Annotated[float, Field(ge=1, le=600)] = Field(
        10.0, description="heartbeat point to InfluxDB every this often (s)"
    )
    heartbeat_down_s: Annotated[float, Field(ge=10, le=86400)] = Field(
        60.0, description="the health check reports the stream down when its newest "
        "heartbeat is older than this (s)"
    )
    monitored: bool = Field(
        True, description="the station-health check watches the heartbeat (a deployment "
        "without seismo stream sets false)"
    )
    warmup_s: SpanS = Field(
        30.0, description="data re-read before the resume point after a restart, to warm up "
        "the filters (s; 3 x the LTA)"
    )
    retention_s: Annotated[float, Field(ge=30, le=3600)] = Field(
        120.0, description="samples kept per channel (s): S refinement reads back to the P, "
        "picker.s_max_delay_s"
    )
    amplitude_keep_s: Annotated[float, Field(ge=60, le=86400)] = Field(
        900.0, description="per-second amplitude peaks kept per station (s)"
    )
    lag_s: Annotated[float, Field(gt=0, le=600)] = Field(
        10.0, description="a channel this far behind its station's newest is not waited for (s)"
    )
    live_s: Annotated[float, Field(gt=0, le=3600)] = Field(
        30.0, description="a station whose newest sample is this far behind the network's "
        "data time counts as not delivering (who should have picked an event) (s)"
    )
    history_s: Annotated[float, Field(ge=60, le=86400)] = Field(
        3600.0, description="records that start longer ago than this (host clock) are "
        "skipped: a backlog older than that is the window pass's (s)"
    )
    max_ahead_s: Annotated[float, Field(ge=0, le=300)] = Field(
        5.0, description="records that end more than this after the host clock are skipped "
        "(a station or host clock gone wrong) (s)"
    )
    reorder_s: Annotated[float, Field(ge=0, le=60)] = Field(
        2.0, description="a record that leaves a hole in its channel is held this long for "
        "the missing records (out-of-order delivery) (s, host clock)"
    )
    late_after_s: Annotated[float, Field(ge=10, le=86400)] = Field(
        60.0, description="an event whose first version is made this long after its origin "
        "(data that arrived late, a backlog) is announced as a late alert (s)"
    )
    keepalive_s: TimeoutS = Field(10.0, description="SeedLink keepalive when nothing comes (s)")
    idle_timeout_s: TimeoutS = Field(
        30.0, description="SeedLink link given up (reconnect) after this long without a packet"
    )
    reconnect_max_s: TimeoutS = Field(30.0, description="longest delay between reconnections")
    shutdown_s: TimeoutS = Field(
        20.0, description="on SIGTERM, time allowed to flush the spool and deliver the outbox"
    )
    dag_cancels: bool = Field(
        True, description="a window pass with every station's data that finds no event "
        "where the stream announced one cancels the stream's alert (the complete pass is "
        "the authority)"
    )
    broker: BrokerConfig = Field(
        default_factory=BrokerConfig,
        description="Redis Streams of the split stream (pickers apart from the associator)",
    )

# --------------------------------------------------------------------------- reports
class ReportConfig(StrictModel):
    """Where reports are written: daily bulletins (``<dir>/YYYY-MM-DD``) and event plots
    (``<dir>/events/<id>``), by ``seismo bulletin``, ``seismo event plot`` and the daily
    report DAG (docs/review.md)."""

    dir: Path = Field(Path("../var/reports"), description="Root directory of the reports")

# --------------------------------------------------------------------------- airflow
def available_cores() -> int:
    """The cores this process may run on: what a setting of 0 processes or tasks means."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class AirflowConfig(StrictModel):
    """The detection DAG's run: sizing and time budget (docs/airflow.md).

    ``max_active_tasks`` and ``station_group_size`` bound how many task processes a
    run starts (each one imports the pipeline and loads the inventory: ~1-2 s of CPU
    on this class of machine); ``finish_margin_s`` is the part of ``run_timeout_s``
    kept for associating, storing and alerting after the stations; windows a run
    could not finish are taken up by the next runs for ``backlog_s`` (design choices,
    measured in benchmarks/README.md).
    """

    detect_schedule: str = "* * * * *"
    health_schedule: str = "*/10 * * * *"
    report_schedule: str = "@daily"
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    retry_delay_s: DelayS = 5.0
    run_timeout_s: Annotated[float, Field(gt=0, le=86400)] = 50.0
    max_active_tasks: Annotated[int, Field(ge=0, le=1024)] = Field(
        0, description="tasks of one detection run at a time (0: one per core)"
    )
    station_group_size: Annotated[int, Field(ge=0, le=100000)] = Field(
        0, description="stations per mapped station task (1: one task per station; 0: as "
        "many groups as max_active_tasks)"
    )
    finish_margin_s: Annotated[float, Field(ge=0, le=3600)] = Field(
        15.0, description="seconds of the run timeout kept for events, store and alerts: "
        "station tasks start no station after run start + run_timeout_s - this"
    )
    max_windows_per_run: Annotated[int, Field(ge=1, le=60)] = Field(
        3, description="windows one run processes: its own and missed ones"
    )
    backlog_s: Annotated[float, Field(ge=0, le=7 * 86400)] = Field(
        3600.0, description="missed windows this old are still taken up; older ones are "
        "reported as not processed (ERROR) for seismo detect to backfill"
    )
    ledger_dir: Path = Field(
        Path("../var/ledger"),
        description="the detection runs' record of planned, partly done and done windows",
    )

    def active_tasks(self) -> int:
        """``max_active_tasks``, 0 meaning one per core."""
        return self.max_active_tasks or available_cores()

    @model_validator(mode="after")
    def _margin(self) -> AirflowConfig:
        require_order(self, "finish_margin_s", "must be below", "run_timeout_s")
        return self

