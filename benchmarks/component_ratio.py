"""Component ratios on real records: the peak of the three-component vector sum (the
quantity of GB/T 17742-2020) and the larger horizontal peak (Worden et al. 2012's MMI)
against RotD50 (the horizontal component of the ground-motion model, Boore et al. 2014).

    python benchmarks/component_ratio.py

Reads the Hi-net Aizu records (``../shared/data/hinet-aizu-2012``, never copied): for each
catalogued event and station, the records are corrected to velocity (ObsPy
``remove_response``), band-passed 0.1-10 Hz (causal, 4 corners: the GB/T 17742-2020
processing), and read from 1 s before P to 15 s after S (a homogeneous 6.0 / 3.5 km/s
model). PGA from the time derivative. RotD50: the median over 180 rotation angles of the
peak of the rotated horizontal (Boore 2010). Prints the medians and the 16-84 % range of
vector sum / RotD50 and larger horizontal / RotD50 for PGA and PGV; the values are
:data:`seismo.event.gmm.VECTOR_SUM_OVER_ROTD50` and ``LARGER_H_OVER_ROTD50``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
HINET = next(
    (p / "shared" / "data" / "hinet-aizu-2012" for p in ROOT.parents
     if (p / "shared" / "data" / "hinet-aizu-2012").is_dir()),
    ROOT.parent / "shared" / "data" / "hinet-aizu-2012",
)


def main() -> None:
    from obspy import UTCDateTime, read, read_inventory
    from obspy.geodetics import gps2dist_azimuth

    if not HINET.is_dir():
        print(f"not run: {HINET} missing")
        sys.exit(0)
    inv = read_inventory(str(HINET / "inventory.xml"))
    events = json.loads((HINET / "catalog.json").read_text(encoding="utf-8"))["events"]
    ratios: dict[str, list[float]] = {"pga": [], "pgv": [], "pga_h": [], "pgv_h": []}
    theta = np.radians(np.arange(0.0, 180.0, 1.0))
    for ev in events:
        t = UTCDateTime(ev["time"])
        for sta in inv[0]:
            st = read(str(HINET / f"sds/2012/N/{sta.code}/EH?.D/*"), starttime=t - 40,
                      endtime=t + 60)
            if len(st) < 3:
                continue
            st.merge(fill_value=0)
            st.detrend("linear")
            st.taper(0.05)
            st.remove_response(inventory=inv, output="VEL", pre_filt=(0.05, 0.08, 40, 45))
            st.filter("bandpass", freqmin=0.1, freqmax=10, corners=4, zerophase=False)
            d, _, _ = gps2dist_azimuth(ev["latitude"], ev["longitude"], sta.latitude,
                                       sta.longitude)
            r = float(np.hypot(d / 1000.0, ev["depth_km"]))
            st.trim(t + r / 6.0 - 1.0, t + r / 3.5 + 15.0)
            z, n, e = (st.select(channel=f"EH{c}")[0].data for c in "ZNE")
            m = min(len(z), len(n), len(e))
            for key in ("pgv", "pga"):
                zz, nn, ee = (z[:m], n[:m], e[:m])
                if key == "pga":
                    zz, nn, ee = (np.gradient(x, st[0].stats.delta) for x in (zz, nn, ee))
                vec = float(np.sqrt(zz**2 + nn**2 + ee**2).max())
                rot = np.abs(np.outer(np.cos(theta), nn) + np.outer(np.sin(theta), ee)).max(1)
                rotd50 = float(np.median(rot))
                ratios[key].append(vec / rotd50)
                ratios[key + "_h"].append(max(np.abs(nn).max(), np.abs(ee).max()) / rotd50)
    print(f"Hi-net Aizu 2012: {len(ratios['pga'])} records of {len(events)} events")
    for key, what in (("pga", "vector sum / RotD50, PGA"), ("pgv", "vector sum / RotD50, PGV"),
                      ("pga_h", "larger horizontal / RotD50, PGA"),
                      ("pgv_h", "larger horizontal / RotD50, PGV")):
        v = np.asarray(ratios[key])
        print(f"{what}: median {np.median(v):.2f}, 16-84 % {np.percentile(v, 16):.2f}-"
              f"{np.percentile(v, 84):.2f}")


if __name__ == "__main__":
    main()
