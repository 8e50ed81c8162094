"""Benchmark seismo's STA/LTA kernels against ObsPy's C routines (one run, one core).

Data: 20 stations x 3 channels of float64 white noise at 100 Hz, one day each
(``--quick``: one hour). Each station is one 2-D (3 x samples) call of the seismo
kernels (the multi-channel path); ObsPy's C kernels take 1-D traces, so they are
called per channel (so is the "1-D per channel" seismo row). nsta/nlta = 0.5 s / 10 s
(the picker defaults). The "numpy fallback" rows are the kernels used when numba is
not importable. The "floor" row is one numpy pass that reads the input and writes a
new output array (``np.square``): no kernel that returns a fresh array can be faster.

Reports throughput (samples/s, best of ``--repeat``; numba compilation is done by an
untimed warm-up call) and peak memory of one station call (tracemalloc, measured in a
separate untimed call; numba's own ~0.5 MB of work arrays are not seen by
tracemalloc), prints a Markdown table for benchmarks/README.md.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sta_lta.py [--quick]
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from obspy.signal import trigger as obspy_trigger  # noqa: E402

from seismo.station.picker.kernels import (  # noqa: E402
    classic_sta_lta,
    classic_sta_lta_numpy,
    jit_kernels,
    recursive_sta_lta,
    recursive_sta_lta_numpy,
)

FS = 100.0
NSTA, NLTA = int(0.5 * FS), int(10 * FS)
N_STATIONS, N_COMP = 20, 3


def _obspy(fn: Callable[..., np.ndarray]) -> Callable[[np.ndarray], list[np.ndarray]]:
    return lambda x: [fn(row, NSTA, NLTA) for row in x]


def _seismo(fn: Callable[..., np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: fn(x, NSTA, NLTA)


def _floor(x: np.ndarray) -> np.ndarray:
    return np.square(x)


def _peak_mb(f: Callable[[np.ndarray], object], x: np.ndarray) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    f(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one hour instead of one day")
    ap.add_argument("--repeat", type=int, default=2, help="timing repeats (best kept)")
    args = ap.parse_args(argv)
    seconds = 3600 if args.quick else 86400
    n = int(seconds * FS)
    x = np.random.default_rng(0).standard_normal((N_COMP, n))  # one station, reused
    total = N_STATIONS * N_COMP * n
    engine = "numba" if jit_kernels() is not None else "numpy (numba not importable)"
    cases = {
        "floor (np.square into a new array, 2-D)": _floor,
        "classic (seismo, 2-D per station)": _seismo(classic_sta_lta),
        "classic (seismo, 1-D per channel)": _obspy(classic_sta_lta),
        "classic (seismo numpy fallback, 2-D)": _seismo(classic_sta_lta_numpy),
        "classic (ObsPy C, per channel)": _obspy(obspy_trigger.classic_sta_lta),
        "recursive (seismo, 2-D per station)": _seismo(recursive_sta_lta),
        "recursive (seismo, 1-D per channel)": _obspy(recursive_sta_lta),
        "recursive (seismo numpy fallback, 2-D)": _seismo(recursive_sta_lta_numpy),
        "recursive (ObsPy C, per channel)": _obspy(obspy_trigger.recursive_sta_lta),
    }
    for f in cases.values():  # warm-up: numba compilation / disk-cache load
        f(x[:, : 20 * NLTA])
    rates: dict[str, float] = {}
    times: dict[str, float] = {}
    mems: dict[str, float] = {}
    for name, f in cases.items():
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for _sta in range(N_STATIONS):
                f(x)
            best = min(best, time.perf_counter() - t0)
        times[name], rates[name] = best, total / best
        mems[name] = _peak_mb(f, x)
        print(
            f"{name:40s} {best:7.2f} s {rates[name] / 1e6:8.1f} M samples/s "
            f"peak {mems[name]:8.1f} MB",
            file=sys.stderr,
        )
    cmd = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sta_lta.py" + (
        " --quick" if args.quick else ""
    )
    print(
        f"\nRun {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, `{cmd}`, "
        f"{N_STATIONS}x{N_COMP} channels x {seconds} s at {FS:g} Hz "
        f"({total / 1e6:.0f} M samples), nsta={NSTA}, nlta={NLTA}, seismo kernels: {engine}.\n"
    )
    print("| kernel | time (s) | M samples/s | peak MB (one station call) | vs ObsPy |")
    print("|---|---|---|---|---|")
    for name in cases:
        ref = name.split(" (")[0] + " (ObsPy C, per channel)"
        if ref not in rates:  # the floor row: compare with classic
            ref = "classic (ObsPy C, per channel)"
        ratio = rates[name] / rates[ref]
        print(
            f"| {name} | {times[name]:.3f} | {rates[name] / 1e6:.0f} | "
            f"{mems[name]:.0f} | {ratio:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
