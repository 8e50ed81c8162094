"""A felt M3 in the city: the intensity of the first message against the final one.

    python benchmarks/felt_first_message.py [--scenario felt_m3_city]

The real-time path measures an event as soon as it is associated, on the per-second
series received so far; the window path measures it again on the whole window. This
runs the shipped network's scenario through the window path, then measures the same
located event on the stations' series cut at successive data times (P at the fourth
nearest station + 1 s, + 3 s, S at the farthest station + 5 s, the whole window):
what the first message and its Updates would carry. Printed: the preferred magnitude
with its type, the observed maximum intensity, the largest predicted site intensity with
its sigma and basis (GB/T 17742-2020 degrees), and the difference from the final one.
Issue 23 asks for at most one degree between the first message and the final one.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cut(series: Any, until: Any) -> Any:
    """The series with every per-second field cut at data time ``until``."""
    n = max(int(float(until - series.start)), 0)
    fields = {}
    for f in dataclasses.fields(series):
        v = getattr(series, f.name)
        if isinstance(v, tuple) and v and isinstance(v[0], float | type(None)):
            fields[f.name] = v[:n]
    fields["clipped"] = tuple(i for i in series.clipped if i < n)
    return dataclasses.replace(series, **fields)


def main() -> None:
    from seismo.config import load_settings
    from seismo.geo import distance_km
    from seismo.shells.window import process_window
    from seismo.shells.window_context import Context, windows_between

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="felt_m3_city")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    s = load_settings()
    ctx = Context.from_settings(s, check_responses=False)
    from seismo.simulate import Simulator

    sim = Simulator.from_settings(s.simulator, s.network, args.scenario)
    truth = sim.truth(peaks=False)[0]
    win = next(w for w in windows_between(s, truth.origin - 60, truth.origin + 120)
               if w.start <= truth.origin + 2 < w.end)
    res = process_window(ctx, win, feed_url=f"sim://?scenario={args.scenario}")
    if not res.events:
        print("no event detected")
        return
    ev = res.events[0]
    amps = {r.station_id: r.amplitudes for r in res.stations if r.amplitudes is not None}
    p_times = sorted(truth.arrivals[k][0] for k in truth.arrivals)
    s_last = max(truth.arrivals[k][1] for k in truth.arrivals)
    cuts = [("P at 4th station + 1 s", p_times[3] + 1), ("P at 4th station + 3 s", p_times[3] + 3),
            ("S everywhere + 5 s", s_last + 5), ("whole window", win.data_end)]
    stub = dataclasses.replace(ev, magnitudes=(), magnitude=None, station_intensities=(),
                               site_intensities=())
    rows = []
    for label, t in cuts:
        cut = {k: _cut(v, t) for k, v in amps.items()}
        m = ctx.measurer.measure(stub, cut).event
        top = max(m.site_intensities, key=lambda x: x.intensity_cn, default=None)
        rows.append((label, float(t - truth.origin), m, top))
    final = rows[-1][3]
    off = float(distance_km(ev.latitude, ev.longitude, truth.latitude, truth.longitude))
    print(f"{args.scenario}: Mw {truth.magnitude} at {truth.latitude:.3f},{truth.longitude:.3f},"
          f" located {off:.1f} km off")
    print("| data time | after origin | magnitude | observed max | predicted max (site, sigma,"
          " basis) | minus final |")
    print("|---|---|---|---|---|---|")
    for label, dt, m, top in rows:
        mag = "none" if m.magnitude is None else (
            f"{m.magnitude_type}{' >=' if m.magnitude_lower_bound else ''} {m.magnitude:.1f}")
        pred = "-" if top is None else (
            f"{top.intensity_cn:.1f} ({top.name}, {top.sigma_cn}, {top.basis})")
        diff = ("-" if top is None or final is None
                else f"{top.intensity_cn - final.intensity_cn:+.1f}")
        obs = "-" if m.max_intensity is None else f"{m.max_intensity:.1f}"
        print(f"| {label} | {dt:.0f} s | {mag} | {obs} | {pred} | {diff} |")


if __name__ == "__main__":
    main()
