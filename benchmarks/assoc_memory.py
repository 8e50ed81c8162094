"""Memory of the association on a large network: the grid and the grid search in blocks.

    python benchmarks/assoc_memory.py                 # province500, blocks vs whole
    python benchmarks/assoc_memory.py --family city20

Each case runs in its own process (its peak RSS is its own, ``ru_maxrss``): the
association of the stream's warm-up picks (``StreamAssociator.warm_caches``: a P and
an S at every station from a source at the network centre) on the family's network,
(a) with the association grid and the locator's coarse grid search built in blocks of
nodes (``seismo.event.locate.BLOCK_ELEMENTS``, the shipped code), (b) in one block each (the whole
(nodes x stations) and (nodes x picks) arrays at once, as before). Same events in
both (checked). Results: benchmarks/README.md, "Association memory".
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(family: str, whole: bool) -> dict[str, object]:
    """One case in this process (the child)."""
    sys.path.insert(0, str(ROOT))
    from seismo.config import DEFAULT_CONFIG, load_settings
    from seismo.event import locate
    from seismo.event.associate import associate
    from seismo.shells.stream_events import warmup_picks
    from seismo.shells.window_context import Context
    from seismo.simulate.families import load_family, write_family

    if whole:
        locate.BLOCK_ELEMENTS = 10**13
    fam = load_family(family)
    with tempfile.TemporaryDirectory() as tmp:
        s = load_settings(write_family(fam, Path(tmp) / family, DEFAULT_CONFIG))
        ctx = Context.from_settings(s)
        picks = warmup_picks(ctx)
        n_sta = len(ctx.stations)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        events = associate(picks, ctx.stations, ctx.velocity, ctx.assoc_cfg, ctx.locate_cfg,
                           s_picks=s.picker.s_picks, separable_s=ctx.separable_s)
        wall = time.perf_counter() - t
    return {
        "family": family, "stations": n_sta, "picks": len(picks),
        "case": "one block (before)" if whole else "blocks (shipped)",
        "wall_s": round(wall, 1),
        "rss_before_mb": round(before / 1024),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "events": [(str(e.time), round(e.latitude, 4), round(e.longitude, 4)) for e in events],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", default="province500")
    ap.add_argument("--case", choices=("blocks", "whole"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case:
        print(json.dumps(one(a.family, a.case == "whole")))
        return
    rows = []
    for case in ("blocks", "whole"):
        out = subprocess.run([sys.executable, __file__, "--family", a.family, "--case", case],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    same = rows[0]["events"] == rows[1]["events"]
    for r in rows:
        print(f"{r['family']} ({r['stations']} stations, {r['picks']} picks), {r['case']}: "
              f"{r['wall_s']} s, peak RSS {r['peak_rss_mb']} MB (before the association "
              f"{r['rss_before_mb']} MB), events {len(r['events'])}")  # type: ignore[arg-type]
    print(f"same events: {same}; peak ratio one block / blocks: "
          f"{rows[1]['peak_rss_mb'] / rows[0]['peak_rss_mb']:.1f}")  # type: ignore[operator]


if __name__ == "__main__":
    main()
