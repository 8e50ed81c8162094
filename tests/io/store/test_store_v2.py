"""The v2 write path (influxdb_client WriteApi) against a real VictoriaMetrics server,
plus the Airflow Connection lookup."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_factories import make_event, make_health, make_pick

from seismo.io.store import InfluxConnection, InfluxStore
from seismo.io.store import points as P
from seismo.io.store.server import InfluxServer, VictoriaMetricsServer, free_port


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetricsServer]:
    srv = VictoriaMetricsServer(tmp_path_factory.mktemp("vm"), free_port())
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _export(vm: VictoriaMetricsServer, selector: str) -> dict[tuple, list[tuple[int, float]]]:
    """{(metric name, sorted labels): [(ms, value), ...]} from /api/v1/export."""
    vm.force_flush()
    q = urllib.parse.urlencode({"match[]": selector})
    with urllib.request.urlopen(f"{vm.url}/api/v1/export?{q}", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[tuple, list[tuple[int, float]]] = {}
    for line in text.splitlines():
        d = json.loads(line)
        labels = dict(d["metric"])
        name = labels.pop("__name__")
        key = (name, tuple(sorted(labels.items())))
        out[key] = sorted(zip(d["timestamps"], d["values"], strict=True))
    return out


@pytest.mark.influx
def test_v2_write_to_victoria_metrics(vm: VictoriaMetricsServer, tmp_path: Path) -> None:
    st = InfluxStore(InfluxConnection(url=vm.url, token="tok-for-v2", bucket="seismo"),
                     tmp_path / "spool")
    picks = [make_pick(f"ST{i:02d}", dt=i) for i in range(3)]
    health = [make_health("ST01", status="WARN")]
    event = make_event("ev-v2")
    for _ in range(2):  # a rerun: same timestamps
        assert st.write_picks(picks).written == 3
    assert st.api == "v2"
    assert st.write_health(health).written == 1
    assert st.write_events([event]).written == 5
    st.close()

    got = _export(vm, '{__name__=~"picks_.*"}')
    for p in picks:
        labels = tuple(sorted({"network": "SZ", "station": p.station, "location": "00",
                               "channel": "HHZ", "phase": "P", "kind": "velocity"}.items()))
        ms = P.time_us(p.time) // 1000  # VictoriaMetrics keeps milliseconds
        assert {v for t, v in got[("picks_snr", labels)]} == {p.snr}
        assert {t for t, v in got[("picks_snr", labels)]} == {ms}
        assert got[("picks_amplitude", labels)][0] == (ms, p.amplitude)
        assert got[("picks_trigger_on_us", labels)][0][1] == P.time_us(p.trigger_on)

    (hkey,) = [k for k in _export(vm, '{__name__="station_health_latency_s"}')]
    assert dict(hkey[1])["status"] == "WARN"
    hv = _export(vm, '{__name__=~"station_health_.*"}')
    assert hv[("station_health_latency_s", hkey[1])][0][1] == 2.25
    assert hv[("station_health_status_code", hkey[1])][0][1] == 1

    ev = _export(vm, '{__name__=~"events_.*"}')
    flat = {name: vals[0] for (name, _), vals in ev.items()}
    ms = P.time_us(event.time) // 1000
    for field in ("latitude", "longitude", "depth_km", "magnitude", "rms_s", "max_intensity",
                  "n_stations", "n_phases", "horizontal_uncertainty_km"):
        assert flat[f"events_{field}"] == (ms, getattr(event, field)), field
    assert flat["events_version"] == (ms, 1)
    sm = _export(vm, '{__name__="station_magnitudes_ml"}')
    assert sorted(v[0][1] for v in sm.values()) == [3.05, 3.11]


@pytest.mark.influx
def test_auto_detect_and_override(vm: VictoriaMetricsServer, tmp_path: Path) -> None:
    """No X-Influxdb-Version header -> v2; an explicit api wins over detection."""
    srv = InfluxServer(tmp_path / "influx", free_port())
    srv.start()
    try:
        for url, api, expected in ((vm.url, "auto", "v2"), (srv.url, "auto", "v1"),
                                   (vm.url, "v2", "v2")):
            st = InfluxStore(InfluxConnection(url=url, api=api), tmp_path / f"sp-{expected}")
            assert st.write_picks([make_pick("AD")]).written == 1
            assert st.api == expected
            st.close()
        # forcing v2 on influxd 1.6 (no /api/v2/write: HTTP 404) spools, never raises
        st = InfluxStore(InfluxConnection(url=srv.url, api="v2"), tmp_path / "sp-forced")
        rep = st.write_picks([make_pick("AD", dt=1)])
        assert rep.spooled == 1 and rep.written == 0
        st.close()
    finally:
        srv.stop()
