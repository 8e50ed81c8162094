"""seismo.io.mseed_span.read_span gives exactly what obspy.read gives, on every kind of file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime, read

from seismo.io import mseed_span
from seismo.io.mseed import MiniSeedError
from seismo.io.mseed_span import read_span

T0 = UTCDateTime("2026-02-01T00:00:00")


def _trace(n: int, start: UTCDateTime = T0, rate: float = 100.0, cha: str = "HHZ") -> Trace:
    rng = np.random.default_rng(n)
    data = np.cumsum(rng.integers(-50, 50, n)).astype(np.int32)
    return Trace(data=data, header={"network": "XX", "station": "ABC", "location": "00",
                                    "channel": cha, "sampling_rate": rate, "starttime": start})


def _write(path: Path, st: Stream, **kw: object) -> Path:
    st.write(str(path), format="MSEED", **kw)
    return path


def _same(a: Stream, b: Stream) -> bool:
    return len(a) == len(b) and all(
        x.id == y.id and x.stats.starttime == y.stats.starttime and x.stats.npts == y.stats.npts
        and x.stats.sampling_rate == y.stats.sampling_rate and np.array_equal(x.data, y.data)
        for x, y in zip(a, b, strict=True)
    )


SPANS = [
    (T0 + 100, T0 + 230),  # inside
    (T0 - 50, T0 + 20),  # across the start
    (T0 + 3500, T0 + 4000),  # across the end
    (T0 + 1234.567, T0 + 1234.987),  # less than a record
    (T0 + 9000, T0 + 9100),  # after the data
    (T0 - 600, T0 - 300),  # before the data
]


@pytest.mark.parametrize(
    "kw",
    [
        {"reclen": 512, "encoding": "STEIM2"},
        {"reclen": 4096, "encoding": "STEIM1"},
        {"reclen": 512, "encoding": "INT32", "byteorder": "<"},
        {"reclen": 256, "encoding": "STEIM2", "byteorder": ">"},
    ],
)
def test_same_samples_as_obspy(tmp_path: Path, kw: dict) -> None:
    path = _write(tmp_path / "a.mseed", Stream([_trace(360_000)]), **kw)
    assert mseed_span._index(np.fromfile(path, dtype=np.uint8)) is not None  # the fast path
    for a, b in SPANS:
        assert _same(read_span(path, a, b), read(str(path), format="MSEED", starttime=a,
                                                 endtime=b)), (kw, a, b)


def test_gaps_two_channels_and_a_file_that_changes(tmp_path: Path) -> None:
    st = Stream([_trace(30_000), _trace(30_000, T0 + 400), _trace(9000, T0 + 50, 20.0, "LHZ")])
    path = _write(tmp_path / "b.mseed", st, reclen=512, encoding="STEIM2")
    for a, b in [(T0 + 250, T0 + 450), (T0, T0 + 800), (T0 + 301, T0 + 399)]:
        assert _same(read_span(path, a, b), read(str(path), starttime=a, endtime=b))
    # the file grows (an archive being written): the new records are found
    with path.open("ab") as fh:
        _trace(6000, T0 + 700).write(fh, format="MSEED", reclen=512, encoding="STEIM2")
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000))
    got = read_span(path, T0 + 690, T0 + 720)
    assert _same(got, read(str(path), starttime=T0 + 690, endtime=T0 + 720)) and len(got)


def test_mixed_record_lengths_fall_back_to_obspy(tmp_path: Path) -> None:
    path = tmp_path / "c.mseed"
    _write(path, Stream([_trace(20_000)]), reclen=512, encoding="STEIM2")
    with path.open("ab") as fh:
        _trace(20_000, T0 + 200).write(fh, format="MSEED", reclen=4096, encoding="STEIM2")
    raw = np.fromfile(path, dtype=np.uint8)
    assert mseed_span._index(raw) is None  # not one record length: the plain reader
    a, b = T0 + 150, T0 + 260
    assert _same(read_span(path, a, b), read(str(path), starttime=a, endtime=b))


def test_garbage_and_empty_files_behave_as_with_obspy(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mseed"
    junk.write_bytes(b"not miniSEED at all " * 200)
    # ObsPy's exception is kept as the cause of seismo's MiniSeedError (a DataError)
    with pytest.raises(MiniSeedError) as ours:
        read_span(junk, T0, T0 + 10)
    with pytest.raises(Exception) as theirs:
        read(str(junk), format="MSEED", starttime=T0, endtime=T0 + 10)
    assert type(ours.value.__cause__) is type(theirs.value) and not ours.value.empty
    assert str(ours.value) == f"{type(theirs.value).__name__}: {theirs.value}"
    empty = tmp_path / "empty.mseed"
    empty.write_bytes(b"")
    with pytest.raises(MiniSeedError) as ours:
        read_span(empty, T0, T0 + 10)
    with pytest.raises(Exception) as theirs:
        read(str(empty), format="MSEED", starttime=T0, endtime=T0 + 10)
    assert type(ours.value.__cause__) is type(theirs.value) and ours.value.empty
