"""Model-object factories for the store tests."""

from __future__ import annotations

from obspy import UTCDateTime

from seismo.model import (
    Arrival,
    Event,
    Pick,
    SiteIntensity,
    StationHealth,
    StationIntensity,
    StationMagnitude,
    StationResult,
)

T0 = UTCDateTime("2026-03-01T02:03:04.123456Z")


def make_pick(station: str = "ST01", phase: str = "P", dt: float = 0.0, **kw: object) -> Pick:
    t = T0 + dt
    sid = f"SZ.{station}.00.HHZ"
    args: dict[str, object] = dict(
        id=Pick.make_id(sid, phase, t), network="SZ", station=station, location="00",
        channel="HHZ", phase=phase, time=t, uncertainty_s=0.05, snr=7.25, amplitude=1234.5,
        polarity="positive", kind="velocity", trigger_on=t - 0.2, trigger_off=t + 3.5,
    )
    args.update(kw)
    return Pick(**args)  # type: ignore[arg-type]


def make_event(eid: str = "ev1", version: int = 1, status: str = "automatic",
               dt: float = 0.0, n_picks: int = 4) -> Event:
    t = T0 + dt
    picks = tuple(make_pick(f"ST{i:02d}", dt=dt + 2.0 + i) for i in range(n_picks))
    arrivals = tuple(
        Arrival(pick_id=p.id, network=p.network, station=p.station, channel=p.channel,
                phase=p.phase, time=p.time, distance_km=10.0 + i, azimuth_deg=30.0 * i,
                residual_s=0.01 * i)
        for i, p in enumerate(picks)
    )
    return Event(
        id=eid, time=t, latitude=22.55, longitude=114.05, depth_km=8.5, rms_s=0.12,
        azimuthal_gap_deg=95.0, n_phases=n_picks, n_stations=n_picks,
        horizontal_uncertainty_km=1.5, vertical_uncertainty_km=3.0, outside_network=False,
        arrivals=arrivals, picks=picks, magnitude=3.1, magnitude_uncertainty=0.2,
        n_magnitude_stations=2,
        station_magnitudes=(
            StationMagnitude("SZ", "ST00", "HHN", 1500.0, 12.5, 3.05),
            StationMagnitude("SZ", "ST00", "HHE", 1700.0, 12.5, 3.11, used=False),
        ),
        station_intensities=(
            StationIntensity("SZ", "ST00", 22.5, 114.0, 0.3, 0.02, 5.1, 4.9, 8.0),
        ),
        site_intensities=(SiteIntensity("Futian", "district", 22.52, 114.05, 10.0, 5.5, 5.0),),
        max_intensity=5.1, max_mmi=4.9, status=status, version=version,  # type: ignore[arg-type]
        creation_time=t + 60 + version,
    )


def make_health(station: str = "ST01", channel: str = "HHZ", status: str = "OK",
                dt: float = 600.0) -> StationHealth:
    return StationHealth(
        network="SZ", station=station, location="00", channel=channel, time=T0 + dt,
        status=status,  # type: ignore[arg-type]
        reasons=("latency 75 s > 60 s",) if status != "OK" else (),
        metrics={"availability_pct": 99.5, "latency_s": 2.25, "rms_counts": 812.0},
    )


def make_result(station: str = "ST01", error: str | None = None) -> StationResult:
    return StationResult(network="SZ", station=station, picks=(make_pick(station),),
                         error=error, n_samples=18000 if error is None else 0,
                         channels=("HHZ", "HHN", "HHE"))
