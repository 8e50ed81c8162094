"""Console speed and weight: the event page of a 20-station event, the live list of a
year of events (paged, and its poll when nothing changed), and the map data a page
downloads, against a real influxd (docs/web.md).

A detected scenario event (felt_m3_city, 20 stations, window path) is stored, then
copied to ``N_EVENTS`` events spread over a year, each with 3 versions. Times are
medians of 5 requests through the application (TestClient: no network hop), after one
warm-up request; the reference is ``/login`` (a template and nothing else) in the same run.
Map data: the bytes of ``/api/basemap`` as sent (gzip) and uncompressed, against the two
world-atlas files the pages loaded before (``countries-10m.json`` and ``land-10m.json``:
6.7 MB), and the time to cut the layers once.

    python benchmarks/bench_web.py [N_EVENTS]
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fastapi.testclient import TestClient
from web.test_web_api import web_scenario

from seismo.io.store import InfluxStore
from seismo.io.store.server import InfluxServer, free_port
from seismo.web.app import create_app
from seismo.web.basemap import ATLAS_DIR, layers
from seismo.web.users import UserStore

#: What every map page downloaded before the layers were cut: world-atlas 2.0.2
#: land-10m.json (3,086,715 bytes) and countries-10m.json (3,661,071 bytes).
BEFORE_BYTES = 3_086_715 + 3_661_071


def median_s(c: TestClient, path: str, n: int = 5) -> float:
    c.get(path)
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        r = c.get(path)
        ts.append(time.perf_counter() - t)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
    return statistics.median(ts)


def main(n_events: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        srv = InfluxServer(tmp / "influxd", free_port())
        srv.start()
        try:
            sc = web_scenario(tmp, srv.url, "bench")
            ev = sc.event
            t0 = time.perf_counter()
            copies = []
            for i in range(n_events):
                t = ev.time - 365 * 86400 + i * (365 * 86400 / n_events)
                eid = f"bench{i:05d}"
                for v in (1, 2, 3):
                    copies.append(dataclasses.replace(ev, id=eid, time=t, version=v,
                                                      solution="stream" if v < 3 else "window"))
            with InfluxStore.from_settings(sc.settings.store) as store:
                for k in range(0, len(copies), 500):
                    store.write_events(copies[k:k + 500], details=False)
            load_s = time.perf_counter() - t0
            UserStore(sc.settings.web.users_db).add("bench", "viewer", "bench-password")
            c = TestClient(create_app(sc.settings, secret_key="b" * 40),
                           base_url="http://127.0.0.1")
            c.post("/login", data={"username": "bench", "password": "bench-password"})
            start, end = str(ev.time - 366 * 86400), str(ev.time + 60)
            ref = median_s(c, "/login")
            lst = median_s(c, f"/api/events?start={start}&end={end}&page=1")
            lst2 = median_s(c, f"/api/events?start={start}&end={end}&page=20")
            tok = c.get(f"/api/events?start={start}&end={end}&page=1").json()["token"]
            poll = median_s(c, f"/api/events?start={start}&end={end}&page=1&since={tok}")
            poll_bytes = len(c.get(f"/api/events?start={start}&end={end}&page=1&since={tok}",
                                   headers={"Accept-Encoding": "identity"}).content)
            list_bytes = len(c.get(f"/api/events?start={start}&end={end}&page=1",
                                   headers={"Accept-Encoding": "identity"}).content)
            page = median_s(c, f"/events/{ev.id}")
            api = median_s(c, f"/api/events/{ev.id}")
            wf = median_s(c, f"/api/events/{ev.id}/waveforms")
            n = c.get(f"/api/events?start={start}&end={end}").json()["total"]
            t0 = time.perf_counter()
            layers(*(json.loads((ATLAS_DIR / f).read_text()) for f in
                     ("countries-50m.json", "countries-10m.json")), sc.settings.network.region)
            cut_s = time.perf_counter() - t0
            raw = len(c.get("/api/basemap", headers={"Accept-Encoding": "identity"}).content)
            gz = int(c.get("/api/basemap", headers={"Accept-Encoding": "gzip"}).headers[
                "content-length"])
        finally:
            srv.stop()
    print(f"stored {n} events x 3 versions over a year in {load_s:.1f} s; event with "
          f"{ev.n_stations} stations")
    for name, s in (("/login (reference)", ref), ("live list, a year, page 1", lst),
                    ("live list, a year, page 20", lst2),
                    ("live list poll, nothing changed (since=token)", poll),
                    ("event page /events/{id}", page),
                    ("event JSON /api/events/{id}", api),
                    ("record section /api/events/{id}/waveforms (from the feed)", wf)):
        print(f"{name:60s} {s * 1000:8.1f} ms  ({s / ref:6.1f} x reference)")
    print(f"live list answer: {list_bytes / 1000:.1f} kB in full, {poll_bytes} bytes when "
          "nothing changed")
    print(f"map data per page: /api/basemap {gz / 1000:.0f} kB sent (gzip), {raw / 1000:.0f} kB "
          f"uncompressed; before: {BEFORE_BYTES / 1e6:.1f} MB (world-atlas land-10m + "
          f"countries-10m, whole); cut once in {cut_s:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
