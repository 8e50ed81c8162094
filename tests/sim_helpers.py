"""Helpers shared by the simulator tests (not a test module)."""

from __future__ import annotations

import numpy as np
from obspy import Inventory, Stream, UTCDateTime

#: Wood-Anderson poles/zeros, gain 1 (ObsPy's values: T0 = 0.8 s, h = 0.7; IASPEI ML).
WA_PAZ = {
    "poles": [-5.49779 + 5.60886j, -5.49779 - 5.60886j],
    "zeros": [0j, 0j],
    "gain": 1.0,
    "sensitivity": 1.0,
}


def wa_ml(
    st: Stream,
    inventory: Inventory,
    hypo_km: float,
    t0: UTCDateTime,
    t1: UTCDateTime,
    pre_filt: tuple[float, float, float, float],
) -> float:
    """IASPEI ML from the mean of the two horizontal zero-to-peak WA amplitudes (nm).

    ML = log10(A) + 1.11 log10(R) + 0.00189 R - 2.09 (isc.ac.uk/standards/magnitudes).
    """
    amps = []
    for tr in st:
        if tr.stats.channel[-1] not in "NE12":
            continue
        tr = tr.copy()
        tr.data = tr.data.astype(float)
        tr.remove_response(inventory=inventory, output="DISP", pre_filt=pre_filt, water_level=None)
        tr.simulate(paz_simulate=WA_PAZ, simulate_sensitivity=False)
        tr.trim(t0, t1)
        amps.append(np.abs(tr.data).max() * 1e9)
    assert len(amps) == 2
    return float(np.log10(np.mean(amps)) + 1.11 * np.log10(hypo_km) + 0.00189 * hypo_km - 2.09)


def seedlink_records(
    streams: dict[str, Stream], t0: UTCDateTime, seconds: int
) -> list[object]:
    """The streams (``NET.STA`` -> counts) as a SeedLink feed sends them: one 512-byte
    miniSEED record per channel and second, stations and channels interleaved in time."""
    from seismo.io.seedlink.client import Record
    from seismo.io.seedlink.records import encode_records, to_int32

    out: list[object] = []
    seq: dict[str, int] = {}
    for k in range(seconds):
        for sid, st in streams.items():
            net, sta = sid.split(".")
            for tr in st.slice(t0 + k, t0 + k + 1 - 1e-6):
                if tr.stats.npts == 0:
                    continue
                tr = tr.copy()
                tr.data = to_int32(tr)
                for payload in encode_records([tr]):
                    seq[sid] = seq.get(sid, 0) + 1
                    out.append(Record(net, sta, seq[sid], payload))
    return out
