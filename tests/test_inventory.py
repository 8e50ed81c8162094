"""The shipped network: 20 stations on land, complete responses to physical units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from global_land_mask import globe
from obspy import Trace, UTCDateTime

from seismo.errors import InventoryError
from seismo.inventory import load_inventory, select_station, stations


def test_twenty_stations_in_the_city(inventory, settings) -> None:  # type: ignore[no-untyped-def]
    stas = stations(inventory)
    assert len(stas) == 20
    la0, la1, lo0, lo1 = 22.45, 22.85, 113.75, 114.65  # issue: the Shenzhen area
    for s in stas:
        assert la0 <= s.latitude <= la1 and lo0 <= s.longitude <= lo1, s.id
        assert globe.is_land(s.latitude, s.longitude), f"{s.id} is not on land"
        assert s.kinds(), s.id
    kinds = [frozenset(s.kinds()) for s in stas]
    assert frozenset({"velocity"}) in kinds and frozenset({"acceleration"}) in kinds
    assert frozenset({"velocity", "acceleration"}) in kinds


def test_azimuthal_coverage_of_city_centre(inventory) -> None:  # type: ignore[no-untyped-def]
    from seismo.geo import azimuth_deg, azimuthal_gap_deg

    lat = np.array([s.latitude for s in stations(inventory)])
    lon = np.array([s.longitude for s in stations(inventory)])
    # seen from the middle of the city, no azimuth gap larger than 90 degrees
    assert azimuthal_gap_deg(azimuth_deg(22.62, 114.1, lat, lon)) < 90


def test_three_components_at_100_hz(inventory) -> None:  # type: ignore[no-untyped-def]
    for s in stations(inventory):
        by_band: dict[tuple[str, str], set[str]] = {}
        for c in s.channels:
            assert c.sampling_rate == 100.0
            by_band.setdefault((c.location, c.channel[:2]), set()).add(c.component)
        for comps in by_band.values():
            assert comps == {"Z", "N", "E"}


@pytest.mark.parametrize("kind,output", [("velocity", "VEL"), ("acceleration", "ACC")])
def test_responses_remove_to_physical_units(inventory, kind: str, output: str) -> None:  # type: ignore[no-untyped-def]
    """A 2 Hz sine of known ground amplitude, forward-modelled to counts, comes back."""
    fs, f0, amp = 100.0, 2.0, 1e-4  # m/s or m/s^2
    n = 6000
    t = np.arange(n) / fs
    ground = amp * np.sin(2 * np.pi * f0 * t) * np.hanning(n)
    for s in stations(inventory):
        for c in s.channels:
            if c.kind != kind:
                continue
            resp = inventory.get_response(c.seed_id, UTCDateTime(2026, 1, 1))
            freqs = np.fft.rfftfreq(n, 1 / fs)
            h = resp.get_evalresp_response_for_frequencies(freqs, output=output)
            counts = np.fft.irfft(np.fft.rfft(ground) * h, n)
            tr = Trace(
                counts,
                header={
                    "network": c.network,
                    "station": c.station,
                    "location": c.location,
                    "channel": c.channel,
                    "sampling_rate": fs,
                    "starttime": UTCDateTime(2026, 1, 1),
                },
            )
            tr.remove_response(
                inventory=inventory,
                output=output,
                water_level=None,
                pre_filt=(0.2, 0.5, 30.0, 40.0),
                zero_mean=False,
                taper=False,
            )
            mid = slice(n // 4, 3 * n // 4)
            err = np.max(np.abs(tr.data[mid] - ground[mid])) / amp
            assert err < 0.02, f"{c.seed_id}: {err:.3f}"
            # the sensitivity is what the stages multiply to (counts per unit)
            assert c.sensitivity == pytest.approx(abs(h[np.argmin(np.abs(freqs - 1.0))]), rel=0.01)


def test_inventory_errors(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="inventory not found"):
        load_inventory(tmp_path / "missing.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<FDSNStationXML>broken", encoding="utf-8")
    with pytest.raises(InventoryError, match=f"cannot read StationXML {bad}"):
        load_inventory(bad)
    empty_dir = tmp_path / "d"
    empty_dir.mkdir()
    with pytest.raises(InventoryError, match="holds no"):
        load_inventory(empty_dir)


def test_select_station(inventory) -> None:  # type: ignore[no-untyped-def]
    sid = stations(inventory)[0].id
    assert select_station(inventory, sid).id == sid
    with pytest.raises(InventoryError, match=r"'XX\.NOPE' is not in the inventory"):
        select_station(inventory, "XX.NOPE")


def test_channels_without_usable_response_are_named_with_what_they_lose(inventory) -> None:  # type: ignore[no-untyped-def]
    import copy

    from seismo.inventory import describe_response_gaps, response_gaps

    assert response_gaps(inventory) == []
    inv = copy.deepcopy(inventory)
    sta = inv.networks[0].stations[0]
    z, n = sorted(sta.channels, key=lambda c: c.code)[-1], sta.channels[0]
    z.response = None  # nothing at all
    n.response.response_stages = []  # only the stated sensitivity
    gaps = {g.seed_id: g for g in response_gaps(inv)}
    zid = f"{inv.networks[0].code}.{sta.code}.{z.location_code}.{z.code}"
    nid = f"{inv.networks[0].code}.{sta.code}.{n.location_code}.{n.code}"
    assert set(gaps) == {zid, nid}
    assert gaps[zid].sensitivity is None and gaps[zid].reason == "no response"
    assert gaps[nid].sensitivity == n.response.instrument_sensitivity.value
    msg = describe_response_gaps(list(gaps.values()), 60)
    assert msg is not None and "2 of 60 channels" in msg
    assert f"{nid} (no response stages)" in msg and "stated sensitivity" in msg
    assert f"{zid} (no response)" in msg and "NO ML and NO intensity" in msg


def test_usable_response_falls_back_on_the_stated_sensitivity(inventory) -> None:  # type: ignore[no-untyped-def]
    import copy

    import numpy as np

    from seismo.inventory import usable_response

    inv = copy.deepcopy(inventory)
    chans = [c for c in inv.networks[0].stations[0].channels]
    full = chans[0]
    assert usable_response(full) is full.response
    sens = full.response.instrument_sensitivity
    f0 = float(sens.frequency)
    want = abs(full.response.get_evalresp_response_for_frequencies([f0], output="VEL")[0])
    full.response.response_stages = []  # only the stated sensitivity is left
    flat = usable_response(full)
    assert flat is not None
    got = abs(flat.get_evalresp_response_for_frequencies([f0], output="VEL")[0])
    assert got == pytest.approx(want, rel=0.05)  # the same at the sensitivity frequency
    assert np.isfinite(got)
    full.response = None
    assert usable_response(full) is None


def _with_codes(inventory, tmp_path: Path, codes: list[str], location: str = "") -> Path:  # type: ignore[no-untyped-def]
    """A StationXML file of the first station of ``inventory`` under each of ``codes``."""
    import copy

    net = copy.deepcopy(inventory.networks[0])
    first = net.stations[0]
    net.stations = []
    for code in codes:
        sta = copy.deepcopy(first)
        sta.code = code
        for ch in sta.channels:
            ch.location_code = location if code == "LOC" else ch.location_code
        net.stations.append(sta)
    inv = copy.deepcopy(inventory)
    inv.networks = [net]
    path = tmp_path / "stations.xml"
    inv.write(str(path), format="STATIONXML")
    return path


@pytest.mark.parametrize("bad", ["../../x", "A/B", "A\\B", "A B", "..", "TOOLONGCODE"])
def test_a_station_code_outside_the_fdsn_rules_is_ignored_with_an_error(
    inventory, tmp_path: Path, caplog: pytest.LogCaptureFixture, bad: str  # type: ignore[no-untyped-def]
) -> None:
    """FDSN source identifiers v1.0: A-Z, 0-9 (and '-' in station and location codes).
    The station is left out, named with its file; the other stations keep working."""
    path = _with_codes(inventory, tmp_path, ["GOOD", bad, "LOC"], location="../")
    got = load_inventory(path)
    assert [s.id for s in stations(got)] == [f"{inventory.networks[0].code}.GOOD",
                                             f"{inventory.networks[0].code}.LOC"]
    assert not next(s for s in stations(got) if s.station == "LOC").channels
    assert f"invalid station code {bad!r}" in caplog.text and str(path) in caplog.text
    assert "invalid location code '../'" in caplog.text


def test_an_inventory_of_bad_codes_only_is_refused(inventory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _with_codes(inventory, tmp_path, ["../x"])
    with pytest.raises(InventoryError, match="contains no stations"):
        load_inventory(path)
