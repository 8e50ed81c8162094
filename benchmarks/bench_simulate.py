"""Simulator generation time: 45 min of the 16-station coastal family, 24 h of the shipped network.

    python benchmarks/bench_simulate.py [--hours 24]

Each case generates every channel of every station over the span in 10-minute requests
(as an SDS writer or a feed would), from a fresh simulator (TauP model already built
in the cache). Reported: wall time, samples, and the real-time factor.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def generate(sim, start, end, step=600.0):  # type: ignore[no-untyped-def]
    n = 0
    t = start
    while t < end:
        t1 = min(t + step, end)
        for sid in sim.station_ids:
            net, sta = sid.split(".")
            n += sum(tr.stats.npts for tr in sim.waveforms(net, sta, t, t1))
        t = t1
    return n


def main() -> None:
    import tempfile

    from seismo.config import DEFAULT_CONFIG, load_settings
    from seismo.simulate import Simulator
    from seismo.simulate.families import load_family, write_family

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hours", type=float, default=24.0, help="span of the shipped network")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fam = load_family("coastal16")
        s = load_settings(write_family(fam, Path(tmp) / "c16", DEFAULT_CONFIG))
        sim = Simulator.from_settings(s.simulator, s.network)
        t0 = time.perf_counter()
        sim.truth(peaks=False)
        t_truth = time.perf_counter() - t0
        t0 = time.perf_counter()
        n = generate(sim, *fam.span)
        wall = time.perf_counter() - t0
        span = float(fam.span[1] - fam.span[0])
        rows.append(("coastal16: 16 stations, 96 channels, 45 min, 11 events (Mw 2.5-7.6)",
                     wall, t_truth, n, span))
    s = load_settings(DEFAULT_CONFIG)
    sim = Simulator.from_settings(s.simulator, s.network)  # felt_m3_city
    start = sim.scenario.reference if sim.scenario else None
    t0 = time.perf_counter()
    n = generate(sim, start, start + args.hours * 3600.0)
    wall = time.perf_counter() - t0
    rows.append((f"shipped SZ: 20 stations, 78 channels, {args.hours:g} h, felt Mw 3.0",
                 wall, 0.0, n, args.hours * 3600.0))
    print("| case | wall s | of which TauP arrivals s | M samples | real-time factor |")
    print("|---|---|---|---|---|")
    for name, wall, tt, n, span in rows:
        print(f"| {name} | {wall:.1f} | {tt:.1f} | {n / 1e6:.1f} | {span / wall:.0f}x |")


if __name__ == "__main__":
    main()
