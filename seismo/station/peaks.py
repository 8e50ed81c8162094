"""Per-step peaks of one sensor, the series made of them, and their changes as messages.

:class:`SensorPeaks` holds what :class:`~seismo.station.amplitudes.StationMotion` keeps
per sensor once the samples are gone: the running peaks of every step (1 s) of every
quantity of an :class:`~seismo.model.AmplitudeSeries` and the clipped steps.
:func:`assemble_series` makes the series of a span from the sensors of a station (the
sensor choice per span of the amplitudes module docstring); the station's
:class:`~seismo.station.amplitudes.StationMotion` and a copy of its peaks held
elsewhere (:class:`~seismo.shells.stream_amplitudes.AmplitudeMirror`, the associator
of ``seismo stream --role associator``) both call it, so both give the same series.

:meth:`SensorPeaks.delta` and :meth:`SensorPeaks.apply` carry the steps that changed
(JSON-able: floats as they are, a missing step as None) so that the copy stays equal
to the original step for step.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from obspy import UTCDateTime

from seismo.errors import DataError
from seismo.model import AmplitudeSeries, ChannelKind

log = logging.getLogger(__name__)

#: The per-step peak maps of a sensor (attribute names; "wa_n"/"wa_e" are ``wa["N"/"E"]``).
PEAK_FIELDS = ("wa_n", "wa_e", "pga", "pgv", "pga_h", "pgv_h", "lp_z", "dz_sum", "hf_z",
               "pd_z")


@dataclass
class SensorPeaks:
    """One sensor's per-step peaks (step index = steps since the station's origin).

    ``slots`` maps "Z"/"N"/"E" to the channel code that fills it; ``done_k`` is the
    sample index up to which the vector sums were formed (None: not yet)."""

    location: str
    prefix: str  # first two channel letters, e.g. "HH"
    kind: ChannelKind
    fs: float  # Hz
    slots: dict[str, str] = field(default_factory=dict)
    done_k: int | None = None
    wa: dict[str, dict[int, float]] = field(default_factory=lambda: {"N": {}, "E": {}})
    pga: dict[int, float] = field(default_factory=dict)
    pgv: dict[int, float] = field(default_factory=dict)
    pga_h: dict[int, float] = field(default_factory=dict)  # larger horizontal, unfiltered
    pgv_h: dict[int, float] = field(default_factory=dict)
    lp_z: dict[int, float] = field(default_factory=dict)  # vertical, Ms_BB band
    dz_sum: dict[int, float] = field(default_factory=dict)  # vertical broadband displacement
    dz_n: dict[int, int] = field(default_factory=dict)  # ... samples summed per step
    hf_z: dict[int, float] = field(default_factory=dict)  # vertical, 1-5 Hz
    pd_z: dict[int, float] = field(default_factory=dict)  # vertical displacement, Pd
    clipped: set[int] = field(default_factory=set)
    lp_ok: bool = False  # the vertical's response is usable at 3-60 s (Ms_BB, Mwp)

    def slot_code(self, slot: str) -> str | None:
        return self.slots.get(slot)

    def spp(self, step_s: float) -> int:
        """Samples per step."""
        return round(step_s * self.fs)

    @property
    def started(self) -> bool:
        return self.done_k is not None or any(self.wa.values())

    def _maps(self) -> dict[str, dict[int, Any]]:
        return {"wa_n": self.wa["N"], "wa_e": self.wa["E"], "pga": self.pga, "pgv": self.pgv,
                "pga_h": self.pga_h, "pgv_h": self.pgv_h, "lp_z": self.lp_z,
                "dz_sum": self.dz_sum, "dz_n": self.dz_n, "hf_z": self.hf_z, "pd_z": self.pd_z}

    def prune(self, first: int) -> None:
        """Drop the steps before ``first``."""
        for peaks in self._maps().values():
            for s in [s for s in peaks if s < first]:
                del peaks[s]
        self.clipped = {s for s in self.clipped if s >= first}

    # ------------------------------------------------------------------ changes as messages
    def delta(self, first: int, end: int) -> dict[str, Any]:
        """The steps ``[first, end)`` and what describes the sensor, JSON-able."""
        span = range(first, end)
        out: dict[str, Any] = {
            "location": self.location, "prefix": self.prefix, "kind": self.kind,
            "fs": self.fs, "lp_ok": self.lp_ok,
            "slots": {x: c for x in "ZNE" if (c := self.slot_code(x)) is not None},
            "done_k": self.done_k, "first": first, "end": end,
            "clipped": sorted(s for s in self.clipped if first <= s < end),
        }
        for name, peaks in self._maps().items():
            out[name] = [peaks.get(s) for s in span]
        return out

    @classmethod
    def from_delta(cls, d: Mapping[str, Any]) -> SensorPeaks:
        """An empty copy of the sensor a :meth:`delta` describes (apply it next)."""
        return cls(str(d["location"]), str(d["prefix"]), cast(ChannelKind, d["kind"]),
                   float(d["fs"]), {str(k): str(v) for k, v in d["slots"].items()},
                   lp_ok=bool(d["lp_ok"]))

    def apply(self, d: Mapping[str, Any]) -> None:
        """Make steps ``[first, end)`` of this copy those of a :meth:`delta`."""
        first, end = int(d["first"]), int(d["end"])
        self.done_k = None if d["done_k"] is None else int(d["done_k"])
        self.slots = {str(k): str(v) for k, v in d["slots"].items()}
        self.lp_ok = bool(d["lp_ok"])
        for name, peaks in self._maps().items():
            values = d[name]
            if len(values) != end - first:
                raise DataError(f"peaks delta of {self.location}.{self.prefix}: {name} has "
                                f"{len(values)} steps, expected {end - first}")
            for s, v in zip(range(first, end), values, strict=True):
                if v is None:
                    peaks.pop(s, None)
                else:
                    peaks[s] = int(v) if name == "dz_n" else float(v)
        self.clipped = {s for s in self.clipped if not first <= s < end}
        self.clipped.update(int(s) for s in d["clipped"])


def assemble_series(
    network: str,
    station: str,
    origin: UTCDateTime,
    step_s: float,
    sensors: Iterable[SensorPeaks],
    start: UTCDateTime,
    n_seconds: float,
) -> AmplitudeSeries | None:
    """The series of the steps ``[start, start + n_seconds)`` (start rounded to the step
    grid of ``origin``/``step_s``), sensors chosen over that span (the amplitudes module
    docstring); None without a usable sensor."""
    if n_seconds <= 0:
        raise DataError(f"n_seconds ({n_seconds}) must be > 0")
    s0 = round(float(UTCDateTime(start) - origin) / step_s)
    n = math.ceil(n_seconds / step_s - 1e-9)
    have = [s for s in sensors if s.started]
    if not have:
        return None
    span = range(s0, s0 + n)

    def clipped(s: SensorPeaks) -> set[int]:
        return {i - s0 for i in s.clipped if s0 <= i < s0 + n}

    def choose(cands: list[SensorPeaks], need: Sequence[str]) -> SensorPeaks | None:
        ok = [s for s in cands if any(s.slot_code(x) for x in need)]
        if not ok:
            return None
        clean = [s for s in ok if not clipped(s)]
        return clean[0] if clean else min(ok, key=lambda s: len(clipped(s)))

    ordered = sorted(have, key=lambda s: (s.location, s.prefix))
    vel = [s for s in ordered if s.kind == "velocity"]
    acc = [s for s in ordered if s.kind == "acceleration"]
    wa_s = choose(vel + acc, ("N", "E"))
    mo_s = choose(acc + vel, ("Z", "N", "E"))
    if wa_s is None and mo_s is None:
        return None
    # the vertical's long-period chain: a sensor usable at 3-60 s, the velocity sensor
    # unless it clipped in the span, then an accelerometer (integrated); the P-wave
    # products (Pd, the high-frequency envelope) from any vertical, in the same order
    lp_s = choose([s for s in vel + acc if s.lp_ok], ("Z",))
    z_s = choose(vel + acc, ("Z",))

    def values(peaks: dict[int, float] | None) -> tuple[float, ...]:
        if peaks is None:
            return tuple(math.nan for _ in span)
        return tuple(float(peaks.get(i, math.nan)) for i in span)

    def means(sensor: SensorPeaks | None) -> tuple[float, ...]:
        if sensor is None:
            return tuple(math.nan for _ in span)
        full = sensor.spp(step_s)
        return tuple(
            sensor.dz_sum[i] / full if sensor.dz_n.get(i) == full else math.nan for i in span
        )

    clip: set[int] = set()
    for used in {id(s): s for s in (wa_s, mo_s, lp_s, z_s) if s is not None}.values():
        clip |= clipped(used)
    if clip:
        log.info("amplitudes: %s.%s clipped in %d s", network, station, len(clip))

    def labels(s: SensorPeaks | None, slots: Sequence[str]) -> tuple[str, ...]:
        if s is None:
            return ()
        return tuple(f"{s.location}.{s.slot_code(x)}" for x in slots if s.slot_code(x))

    return AmplitudeSeries(
        network=network,
        station=station,
        start=origin + s0 * step_s,
        step_s=step_s,
        wa_n_nm=values(wa_s.wa["N"] if wa_s and wa_s.slot_code("N") else None),
        wa_e_nm=values(wa_s.wa["E"] if wa_s and wa_s.slot_code("E") else None),
        pga_ms2=values(mo_s.pga if mo_s else None),
        pgv_ms=values(mo_s.pgv if mo_s else None),
        pga_h_ms2=values(mo_s.pga_h if mo_s else None),
        pgv_h_ms=values(mo_s.pgv_h if mo_s else None),
        lp_z_nms=values(lp_s.lp_z if lp_s else None),
        dz_nm=means(lp_s),
        hf_z_nms=values(z_s.hf_z if z_s else None),
        pd_z_nm=values(z_s.pd_z if z_s else None),
        clipped=tuple(sorted(clip)),
        wa_channels=labels(wa_s, ("N", "E")),
        motion_channels=labels(mo_s, ("Z", "N", "E")),
        lp_channels=labels(lp_s, ("Z",)),
        z_channels=labels(z_s, ("Z",)),
    )
