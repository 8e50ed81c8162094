"""miniSEED through seismo.io.mseed: round trip, and concurrent decoding from threads."""

from __future__ import annotations

import contextlib
import io
import threading

import numpy as np
from obspy import Stream, Trace, UTCDateTime

from seismo.io.mseed import read_mseed, write_mseed


def _record_bytes(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    tr = Trace(
        rng.integers(-5000, 5000, 6000).astype(np.int32),
        header={"network": "XX", "station": f"S{seed}", "channel": "HHZ", "sampling_rate": 100.0,
                "starttime": UTCDateTime(2026, 1, 1)},
    )
    buf = io.BytesIO()
    write_mseed(Stream([tr]), buf, reclen=512, encoding="STEIM2")
    return buf.getvalue()


def test_round_trip_keeps_samples_and_header() -> None:
    raw = _record_bytes(1)
    st = read_mseed(io.BytesIO(raw))
    assert len(st) == 1 and st[0].id == "XX.S1..HHZ"
    again = io.BytesIO()
    write_mseed(st, again, reclen=512, encoding="STEIM2")
    assert np.array_equal(read_mseed(io.BytesIO(again.getvalue()))[0].data, st[0].data)


def test_threads_decoding_good_and_corrupt_data_at_once() -> None:
    """Each thread gets the same answer as a serial decode; corrupt input only fails itself."""
    good = [_record_bytes(i) for i in range(4)]
    garbage = b"000001D " + np.random.default_rng(9).bytes(512 * 8 - 8)
    expected = [read_mseed(io.BytesIO(g))[0].data.copy() for g in good]
    failures: list[str] = []

    def work(k: int) -> None:
        for _ in range(40):
            if k % 2:
                with contextlib.suppress(Exception):  # corrupt input may raise anything
                    read_mseed(io.BytesIO(garbage))
            else:
                got = read_mseed(io.BytesIO(good[k // 2]))[0].data
                if not np.array_equal(got, expected[k // 2]):
                    failures.append(f"thread {k}: samples differ")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
