"""Per-second WA / PGA / PGV peaks from a station's stream (seismo.station.amplitudes)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime

from seismo.errors import DataError
from seismo.event.settings import IntensityConfig
from seismo.model import AmplitudeSeries
from seismo.station.amplitudes import series_values, series_window, station_amplitudes
from seismo.station.response import wood_anderson_paz, wood_anderson_response
from seismo.station.settings import InstrumentConfig

FS = 100.0
N = 12_000  # 120 s
T0 = UTCDateTime(2026, 3, 1, 12, 0, 0)
F0 = 2.0  # Hz
DISP_M = 1e-6  # ground displacement amplitude (north), m
CFG = IntensityConfig()
INSTRUMENT = InstrumentConfig()


def _station_with(inventory, kinds: set[str]) -> str:
    """A station code of the inventory whose channel kinds are exactly ``kinds``."""
    from seismo.inventory import stations

    for s in stations(inventory):
        if s.kinds() == kinds:
            return s.station
    pytest.skip(f"inventory has no station with kinds {kinds}")
    raise AssertionError


@pytest.fixture(scope="module")
def both(inventory) -> str:
    return _station_with(inventory, {"velocity", "acceleration"})


def _ground(scale: float = 1.0) -> np.ndarray:
    t = np.arange(N) / FS
    env = np.exp(-(((t - 60.0) / 8.0) ** 2))
    return scale * DISP_M * np.sin(2 * np.pi * F0 * t) * env


def _counts(inventory, sta: str, loc: str, cha: str, disp: np.ndarray) -> np.ndarray:
    """Ground displacement (m) -> counts, multiplying by the channel's full response."""
    ch = inventory.select(station=sta, location=loc, channel=cha)[0][0][0]
    nfft = 2 * disp.size
    fr = np.fft.rfftfreq(nfft, 1 / FS)
    resp = ch.response.get_evalresp_response_for_frequencies(fr, output="DISP")
    return np.fft.irfft(np.fft.rfft(disp, nfft) * resp, nfft)[: disp.size]


def _stream(inventory, sta: str, locs=("00", "10"), scale: float = 1.0) -> Stream:
    """Three components per sensor: N = ground, E = 0.5 ground, Z = 0.3 ground."""
    st = Stream()
    net = inventory[0].code
    g = _ground(scale)
    for loc, prefix in (("00", "HH"), ("10", "HN")):
        if loc not in locs or not inventory.select(station=sta, location=loc):
            continue
        for comp, f in (("Z", 0.3), ("N", 1.0), ("E", 0.5)):
            data = np.round(_counts(inventory, sta, loc, prefix + comp, f * g))
            data = np.clip(data, -(2**23), 2**23 - 1).astype(np.int32)
            st += Trace(
                data,
                header={
                    "network": net,
                    "station": sta,
                    "location": loc,
                    "channel": prefix + comp,
                    "sampling_rate": FS,
                    "starttime": T0,
                },
            )
    return st


def _expected_wa_nm(scale: float = 1.0) -> float:
    return scale * DISP_M * 1e9 * abs(wood_anderson_response([F0])[0])


def _peak(values) -> float:
    return float(np.nanmax(series_values(values)))


@pytest.mark.parametrize("locs", [("00",), ("10",), ("00", "10")])
def test_wa_amplitude_recovered_through_response(inventory, both, locs) -> None:
    st = _stream(inventory, both, locs=locs)
    a = station_amplitudes(st, inventory, T0, 120, CFG, instrument=INSTRUMENT)
    assert a is not None
    assert _peak(a.wa_n_nm) == pytest.approx(_expected_wa_nm(), rel=0.02)
    assert _peak(a.wa_e_nm) == pytest.approx(0.5 * _expected_wa_nm(), rel=0.03)
    assert a.clipped == ()
    # WA prefers the velocity sensor when it exists.
    assert a.wa_channels[0].endswith("N")
    if "00" in locs:
        assert a.wa_channels[0].startswith("00.")


def test_wa_matches_obspy_remove_response_and_simulate(inventory, both) -> None:
    """Reference implementation: ObsPy remove_response(DISP) + simulate(WA PAZ)."""
    st = _stream(inventory, both, locs=("00",))
    a = station_amplitudes(st, inventory, T0, 120, CFG, instrument=INSTRUMENT)
    assert a is not None
    tr = st.select(channel="HHN")[0].copy()
    tr.detrend("linear")
    tr.taper(0.05)
    tr.remove_response(
        inventory=inventory, output="DISP", pre_filt=(0.02, 0.04, 37.5, 45.0), water_level=60
    )
    tr.simulate(paz_simulate=wood_anderson_paz())
    ref = float(np.abs(tr.data).max()) * 1e9
    assert _peak(a.wa_n_nm) == pytest.approx(ref, rel=0.01)


def test_pga_pgv_velocity_and_acceleration_sensors_agree(inventory, both) -> None:
    vel = station_amplitudes(
        _stream(inventory, both, locs=("00",), scale=50), inventory, T0, 120, CFG,
        instrument=INSTRUMENT,
    )
    acc = station_amplitudes(
        _stream(inventory, both, locs=("10",), scale=50), inventory, T0, 120, CFG,
        instrument=INSTRUMENT,
    )
    assert vel is not None and acc is not None
    assert vel.motion_channels[0].startswith("00.") and acc.motion_channels[0].startswith("10.")
    w = 2 * math.pi * F0
    vec = math.sqrt(1 + 0.5**2 + 0.3**2)
    pgv_true = 50 * DISP_M * w * vec
    for a in (vel, acc):
        assert _peak(a.pgv_ms) == pytest.approx(pgv_true, rel=0.02)
        assert _peak(a.pga_ms2) == pytest.approx(pgv_true * w, rel=0.02)
    assert _peak(vel.pga_ms2) == pytest.approx(_peak(acc.pga_ms2), rel=0.02)
    assert _peak(vel.pgv_ms) == pytest.approx(_peak(acc.pgv_ms), rel=0.02)


def test_series_layout_and_quiet_edges(inventory, both) -> None:
    a = station_amplitudes(
        _stream(inventory, both, locs=("00",)), inventory, T0, 120, CFG, instrument=INSTRUMENT
    )
    assert a is not None
    assert a.start == T0 and a.step_s == 1.0
    assert len(a.wa_n_nm) == len(a.pga_ms2) == len(a.pgv_ms) == 120
    wa = series_values(a.wa_n_nm)
    assert int(np.nanargmax(wa)) in range(58, 62)  # the envelope peaks at 60 s
    assert wa[5] < 1e-3 * wa.max()  # far from the wave packet: only quantisation noise


def test_clipped_velocity_sensor_falls_back_to_accelerometer(inventory, both) -> None:
    # 1500x: 1.5 mm at 2 Hz = 19 mm/s north, above the ~13 mm/s full scale of the broadband.
    st = _stream(inventory, both, scale=1500)
    hh = station_amplitudes(
        st.select(location="00"), inventory, T0, 120, CFG, instrument=INSTRUMENT
    )
    mixed = station_amplitudes(st, inventory, T0, 120, CFG, instrument=INSTRUMENT)
    assert hh is not None and mixed is not None
    assert hh.clipped, "the broadband sensor alone must report clipped seconds"
    assert all(50 <= i <= 70 for i in hh.clipped)
    assert mixed.clipped == ()
    assert mixed.wa_channels[0].startswith("10.")
    assert _peak(mixed.wa_n_nm) == pytest.approx(_expected_wa_nm(1500), rel=0.02)


def test_gap_gives_nan_seconds(inventory, both) -> None:
    st = _stream(inventory, both, locs=("00",))
    gapped = Stream()
    for tr in st:
        gapped += tr.slice(T0, T0 + 40 - 0.01)
        gapped += tr.slice(T0 + 50, T0 + 120)
    a = station_amplitudes(gapped, inventory, T0, 120, CFG, instrument=INSTRUMENT)
    assert a is not None
    wa = series_values(a.wa_n_nm)
    assert np.all(np.isnan(wa[40:50]))
    assert np.all(np.isfinite(wa[:40])) and np.all(np.isfinite(wa[50:]))
    assert _peak(a.wa_n_nm) == pytest.approx(_expected_wa_nm(), rel=0.02)
    # A masked (merged) stream gives the same answer.
    merged = gapped.copy().merge(method=1, fill_value=None)
    b = station_amplitudes(merged, inventory, T0, 120, CFG, instrument=INSTRUMENT)
    assert b is not None
    assert np.allclose(series_values(b.wa_n_nm), wa, equal_nan=True)


def test_bad_input(inventory, both) -> None:
    assert station_amplitudes(Stream(), inventory, T0, 60, CFG, instrument=INSTRUMENT) is None
    st = _stream(inventory, both, locs=("00",))
    other = st[0].copy()
    other.stats.station = "XXXX"
    with pytest.raises(DataError, match="XXXX"):
        station_amplitudes(st + other, inventory, T0, 60, CFG, instrument=INSTRUMENT)
    with pytest.raises(DataError, match="n_seconds"):
        station_amplitudes(st, inventory, T0, 0, CFG, instrument=INSTRUMENT)
    # Channels absent from the inventory are skipped, not fatal.
    unknown = Stream([tr.copy() for tr in st])
    for tr in unknown:
        tr.stats.location = "99"
    assert station_amplitudes(unknown, inventory, T0, 60, CFG, instrument=INSTRUMENT) is None


def test_series_window_and_json_round_trip() -> None:
    s = AmplitudeSeries(
        network="XX",
        station="AAA",
        start=T0,
        step_s=1.0,
        wa_n_nm=(1.0, float("nan"), 3.0),
        wa_e_nm=(1.0, 2.0, 3.0),
        pga_ms2=(0.1, 0.2, 0.3),
        pgv_ms=(0.01, 0.02, 0.03),
        clipped=(2,),
        wa_channels=("00.HHN", "00.HHE"),
    )
    assert series_window(s, T0 + 0.5, T0 + 1.5) == slice(0, 2)
    assert series_window(s, T0 - 10, T0 + 100) == slice(0, 3)
    assert series_window(s, T0 + 10, T0 + 100) == slice(3, 3)
    back = AmplitudeSeries.from_dict(s.to_dict())
    assert back.wa_n_nm[1] is None and back.clipped == (2,)
    assert np.isnan(series_values(back.wa_n_nm)[1])
    assert back.wa_channels == ("00.HHN", "00.HHE")


def test_waveforms_to_event_magnitude(inventory) -> None:
    """End to end: counts at a few stations -> series -> event ML of the input size."""
    from seismo.event.arrivals import EventRecords
    from seismo.event.magnitude import event_magnitude, wa_amplitude_for_ml
    from seismo.event.settings import MagnitudeConfig
    from seismo.geo import distance_km, hypocentral_km
    from seismo.inventory import station_map

    smap = station_map(inventory)
    lat, lon, depth = 22.62, 114.05, 8.0
    origin = T0 + 45.0  # the synthetic packet peaks at T0 + 60 s
    amps = {}
    for sid in sorted(smap)[:4]:
        info = smap[sid]
        hypo = float(hypocentral_km(distance_km(lat, lon, info.latitude, info.longitude), depth))
        scale = wa_amplitude_for_ml(3.0, hypo) / _expected_wa_nm()
        series = station_amplitudes(
            _stream(inventory, info.station, scale=scale), inventory, T0, 120, CFG,
            instrument=INSTRUMENT,
        )
        assert series is not None
        amps[sid] = series

    def tt(epi: float, dep: float) -> float:
        return 15.0  # the packet is inside [P - 1, S + 30] for every station

    records = EventRecords(origin, lat, lon, depth, amps, smap, tt, tt)
    ml, _, sms = event_magnitude(records, MagnitudeConfig())
    assert len(sms) == 8
    north = [m.ml for m in sms if m.channel.endswith("N")]
    assert north == pytest.approx([3.0] * 4, abs=0.02)
    assert ml == pytest.approx(3.0 - 0.15, abs=0.03)  # E component carries half the amplitude
