"""Benchmark: a 24-hour backfill of the network's picks, health and feed status into InfluxDB.

Synthesizes, for every station of the configured inventory:
  * picks: ~4 per station per hour (P and S, random times), one channel each;
  * station_health: one point per channel every 10 min;
  * station_status: one point per station per minute;
then writes them through :class:`seismo.io.store.InfluxStore` (write-ahead spool,
v1 API) into a fresh local influxd, for several batch sizes, and reports points/s.
Also measures the steady-state pattern (one small write per minute-window) and
the v2 path into VictoriaMetrics.

    .venv/bin/python benchmarks/bench_store.py [--hours 24] [--batch 500 5000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from obspy import UTCDateTime

from seismo.config import load_settings
from seismo.inventory import load_inventory, stations
from seismo.io.store import InfluxConnection, InfluxStore
from seismo.io.store import points as P
from seismo.io.store.server import InfluxServer, VictoriaMetricsServer, free_port
from seismo.model import Pick, StationHealth, StationResult

START = UTCDateTime("2026-06-01T00:00:00Z")


def synthesize(hours: float, seed: int = 1) -> tuple[list[Pick], list[StationHealth],
                                                    list[tuple[StationResult, UTCDateTime]]]:
    rng = random.Random(seed)
    settings = load_settings()
    stas = stations(load_inventory(settings.network.inventory))
    picks: list[Pick] = []
    health: list[StationHealth] = []
    status: list[tuple[StationResult, UTCDateTime]] = []
    span = hours * 3600.0
    for s in stas:
        chans = list(s.channels)
        n_picks = int(rng.gauss(4.0, 1.0) * hours)
        for _ in range(max(n_picks, 0)):
            c = rng.choice(chans)
            t = START + rng.uniform(0, span)
            phase = rng.choice(("P", "S"))
            picks.append(Pick(
                id=Pick.make_id(c.seed_id, phase, t), network=c.network, station=c.station,
                location=c.location, channel=c.channel, phase=phase, time=t,
                uncertainty_s=rng.uniform(0.02, 0.3), snr=rng.uniform(3, 50),
                amplitude=rng.uniform(100, 1e5), kind=c.kind or "velocity",
                trigger_on=t - 0.1, trigger_off=t + rng.uniform(1, 10),
            ))
        for k in range(1, int(span // 600) + 1):
            for c in chans:
                health.append(StationHealth(
                    network=c.network, station=c.station, location=c.location,
                    channel=c.channel, time=START + 600.0 * k, status="OK",
                    metrics={"availability_pct": rng.uniform(98, 100),
                             "latency_s": rng.uniform(0.5, 5), "gaps": float(rng.randint(0, 2)),
                             "rms_counts": rng.uniform(100, 2000)},
                ))
        for k in range(1, int(span // 60) + 1):
            status.append((StationResult(network=s.network, station=s.station,
                                         n_samples=6000 * len(chans),
                                         channels=tuple(c.channel for c in chans)),
                           START + 60.0 * k))
    return picks, health, status


def encode(picks, health, status) -> tuple[list[str], float]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    lines = [P.to_line(P.pick_point(p)) for p in picks]
    lines += [P.to_line(P.health_point(h)) for h in health]
    lines += [P.to_line(P.station_status_point(r, t)) for r, t in status]
    return lines, time.perf_counter() - t0


def backfill(url: str, spool: Path, batch: int, picks, health, status) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    st = InfluxStore(InfluxConnection(url=url, database="bench"), spool, batch_size=batch)
    t0 = time.perf_counter()
    n = st.write_picks(picks).written
    n += st.write_health(health).written
    # a backfill writes all windows' feed status in one call (Points through write_points)
    n += st.write_points(P.station_status_point(r, t) for r, t in status).written
    dt = time.perf_counter() - t0
    st.close()
    return dt, n


def per_minute(url: str, spool: Path, status, picks) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Steady state: one write call per station-window (as the per-minute DAG does)."""
    st = InfluxStore(InfluxConnection(url=url, database="bench_minute"), spool)
    calls = status[:1440]  # one day of one station's windows, or 1440 station-windows
    t0 = time.perf_counter()
    for r, t in calls:
        st.write_station_results([r], t)
    dt = time.perf_counter() - t0
    st.close()
    return dt, len(calls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--batch", type=int, nargs="+", default=[500, 5000])
    ap.add_argument("--no-v2", action="store_true", help="skip the VictoriaMetrics run")
    args = ap.parse_args()

    picks, health, status = synthesize(args.hours)
    total = len(picks) + len(health) + len(status)
    print(f"synthesized {args.hours:g} h: {len(picks)} picks, {len(health)} health, "
          f"{len(status)} station_status = {total} points")
    lines, enc_s = encode(picks, health, status)
    print(f"encode (model -> Point -> line protocol): {enc_s:.2f} s, "
          f"{total / enc_s:,.0f} points/s, "
          f"{sum(len(x) + 1 for x in lines) / total:.0f} bytes/point")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with InfluxServer(root / "influxd", free_port()) as srv:
            for b in args.batch:
                dt, n = backfill(srv.url, root / f"spool-{b}", b, picks, health, status)
                st = InfluxStore(InfluxConnection(url=srv.url, database="bench"), root / "x")
                counts = {m: st.count(m) for m in (P.PICKS, P.STATION_HEALTH, P.STATION_STATUS)}
                print(f"v1 influxd 1.6 backfill batch={b}: {n} points in {dt:.2f} s = "
                      f"{n / dt:,.0f} points/s ({-(-n // b)} requests); counts {counts}")
            dt, n = per_minute(srv.url, root / "spool-minute", status, picks)
            print(f"v1 steady state: {n} single-station write calls in {dt:.2f} s = "
                  f"{1000 * dt / n:.1f} ms per call (spool fsync + HTTP)")
        if not args.no_v2:
            with VictoriaMetricsServer(root / "vm", free_port()) as vm:
                b = max(args.batch)
                dt, n = backfill(vm.url, root / "spool-vm", b, picks, health, status)
                print(f"v2 VictoriaMetrics backfill batch={b}: {n} points in {dt:.2f} s = "
                      f"{n / dt:,.0f} points/s")


if __name__ == "__main__":
    main()
