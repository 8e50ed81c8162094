"""Station feeds: SDS on disk, SeedLink and FDSN over loopback sockets, fetch_window."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from fdsn_server import FDSNDataselectServer, synthetic_source
from obspy import Stream, Trace, UTCDateTime
from trickler import Trickler

from seismo.config import Settings, mask_url
from seismo.errors import DataError, FeedError
from seismo.io.feeds import fetch_window, open_feed
from seismo.io.feeds.base import ChannelRequest, check_codes, trim_half_open
from seismo.io.feeds.settings import FeedsConfig
from seismo.io.seedlink import SeedLinkServer

T_NOW = UTCDateTime(2026, 3, 1, 12, 0, 0)
STATIONS = [("SZ", "AAA"), ("SZ", "BBBB5"), ("SZ", "A-B"), ("X1", "x1")]  # 5 chars, "-", lower


def _feeds(base: Settings, default: str, overrides: dict[str, str] | None = None) -> FeedsConfig:
    """The ``[feeds]`` of ``base`` with another default and overrides, short deadlines."""
    return base.feeds.model_copy(
        update={
            "default": default,
            "overrides": overrides or {},
            "timeout_s": 3.0,
            "retries": 1,
            "retry_delay_s": 0.0,
        }
    )


def _closed_port() -> int:
    """A loopback port with nothing listening (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _assert_same(st: Stream, net: str, sta: str, t0: UTCDateTime, t1: UTCDateTime) -> None:
    want = {tr.id: tr for tr in synthetic_source(net, sta, t0, t1)}
    assert sorted(tr.id for tr in st) == sorted(want)
    for tr in st:
        assert tr.stats.starttime == want[tr.id].stats.starttime
        np.testing.assert_array_equal(tr.data, want[tr.id].data)


def _write_sds(root: Path, net: str, sta: str, t0: UTCDateTime, t1: UTCDateTime) -> list[Path]:
    """Day files as slarchive writes them: YEAR/NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DOY."""
    paths = []
    day = UTCDateTime(t0.date)
    while day < t1:
        a, b = max(t0, day), min(t1, day + 86400)
        for tr in synthetic_source(net, sta, a, b):
            s = tr.stats
            p = root / f"{day.year}" / net / sta / f"{s.channel}.D"
            p.mkdir(parents=True, exist_ok=True)
            f = p / f"{net}.{sta}.{s.location}.{s.channel}.D.{day.year}.{day.julday:03d}"
            Stream([tr]).write(str(f), format="MSEED", reclen=512, encoding="STEIM2")
            paths.append(f)
        day += 86400
    return paths


# --------------------------------------------------------------------------- units
def test_trim_is_half_open_and_exact() -> None:
    t0 = UTCDateTime(2026, 1, 1)
    tr = Trace(np.arange(1000, dtype=np.int32), {"sampling_rate": 100.0, "starttime": t0})
    out = trim_half_open(Stream([tr]), t0 + 1, t0 + 2)
    assert out[0].stats.starttime == t0 + 1 and out[0].stats.npts == 100
    assert out[0].data[0] == 100 and out[0].data[-1] == 199
    # a window between samples keeps the first sample at or after start
    out = trim_half_open(Stream([tr]), t0 + 1.005, t0 + 1.03)
    assert list(out[0].data) == [101, 102]
    assert len(trim_half_open(Stream([tr]), t0 + 20, t0 + 30)) == 0


def test_urls_and_codes_are_checked() -> None:
    assert mask_url("seedlink://bob:secret@host:18000") == "seedlink://***@host:18000"
    with pytest.raises(FeedError, match="unknown feed scheme 'ftp'"):
        open_feed("ftp://user:pw@example.invalid/x")
    try:
        open_feed("ftp://user:pw@example.invalid/x")
    except FeedError as exc:
        assert "pw" not in str(exc)
    with pytest.raises(FeedError, match="no host"):
        open_feed("seedlink://")
    with pytest.raises(FeedError, match="not a directory"):
        open_feed("sds:///nonexistent/sds/root")
    with pytest.raises(FeedError, match="needs the configuration"):
        open_feed("sim://")
    check_codes("X1", "A-B", "00", "HH?")
    check_codes("SZ", "x1", "", "*")
    with pytest.raises(FeedError, match="station code 'TOOLONG'"):
        check_codes("SZ", "TOOLONG", "*", "*")
    with pytest.raises(FeedError, match=r"station code 'A\.B'|station code 'A_B'"):
        check_codes("SZ", "A_B", "*", "*")


# --------------------------------------------------------------------------- SDS
def test_sds_reads_back_exactly_across_midnight(tmp_path: Path) -> None:
    t0 = UTCDateTime(2026, 1, 1, 23, 59, 0)
    _write_sds(tmp_path, "SZ", "AAA", t0, t0 + 120)
    _write_sds(tmp_path, "X1", "x1", t0, t0 + 120)
    feed = open_feed(f"sds://{tmp_path}", retries=0)
    a, b = t0 + 30.005, t0 + 90  # spans two day files; start between samples
    st = feed.get_waveforms("SZ", "AAA", "*", "*", a, b)
    _assert_same(st, "SZ", "AAA", a, b)
    assert all(tr.stats.npts == 5999 for tr in st)
    st = feed.get_waveforms("X1", "x1", "10", "HN?", a, b)
    assert sorted(tr.stats.channel for tr in st) == ["HNE", "HNN", "HNZ"]
    # a window with no files at all is no data, not an error
    assert len(feed.get_waveforms("SZ", "AAA", "*", "*", t0 - 86400 * 5, t0 - 86400 * 4)) == 0


def test_sds_gap_is_kept(tmp_path: Path) -> None:
    t0 = UTCDateTime(2026, 1, 2, 6)
    st = synthetic_source("SZ", "AAA", t0, t0 + 60, channels=(("00", "HHZ"),))
    p = tmp_path / "2026/SZ/AAA/HHZ.D"
    p.mkdir(parents=True)
    pieces = Stream([st[0].slice(t0, t0 + 20 - 0.01), st[0].slice(t0 + 30, t0 + 60 - 0.01)])
    pieces.write(str(p / "SZ.AAA.00.HHZ.D.2026.002"), format="MSEED", reclen=512)
    out = open_feed(f"sds://{tmp_path}").get_waveforms("SZ", "AAA", "00", "HHZ", t0, t0 + 60)
    assert [tr.stats.npts for tr in out] == [2000, 3000]
    assert out[1].stats.starttime == t0 + 30


def test_sds_layout_and_data_past_midnight_in_the_previous_day_file(tmp_path: Path) -> None:
    from seismo.io.feeds.base import ChannelRequest
    from seismo.io.sds import border_s, day_file, day_files

    day = UTCDateTime(2026, 2, 1)
    assert day_file("/r", "SZ", "AAA", "", "HHZ", day + 3600) == Path(
        "/r/2026/SZ/AAA/HHZ.D/SZ.AAA..HHZ.D.2026.032"
    )
    assert border_s("HHZ") == 5000 / 80 and border_s("*") == 5000 / 20
    # slarchive files a record by its start: the last record of Jan 31 reaches into Feb 1
    st = synthetic_source("SZ", "AAA", day - 30, day + 30, channels=(("00", "HHZ"),))
    path = day_file(tmp_path, "SZ", "AAA", "00", "HHZ", day - 30)
    path.parent.mkdir(parents=True)
    st.write(str(path), format="MSEED", reclen=512)
    assert day_files(tmp_path, ChannelRequest("SZ", "AAA", "*", "HH?", day + 5, day + 20)) == [
        path
    ]
    assert day_files(tmp_path, ChannelRequest("SZ", "AAA", "*", "HH?", day + 600, day + 620)) == []
    out = open_feed(f"sds://{tmp_path}").get_waveforms("SZ", "AAA", "00", "HHZ", day + 5, day + 20)
    assert [tr.stats.npts for tr in out] == [1500] and out[0].stats.starttime == day + 5


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_sds_corrupt_file_is_named_and_others_still_read(tmp_path: Path) -> None:
    t0 = UTCDateTime(2026, 1, 3, 10)
    paths = _write_sds(tmp_path, "SZ", "BBB", t0, t0 + 60)
    bad = next(p for p in paths if p.name.startswith("SZ.BBB.00.HHN"))
    raw = bytearray(bad.read_bytes())
    raw[0:4096] = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    bad.write_bytes(bytes(raw))
    feed = open_feed(f"sds://{tmp_path}", retries=0)
    data = feed.fetch(ChannelRequest("SZ", "BBB", "*", "*", t0, t0 + 60))
    assert "HHN" not in {tr.stats.channel for tr in data.stream}
    assert len(data.stream) == 5
    assert len(data.warnings) == 1 and str(bad) in data.warnings[0]
    # only the corrupt file requested: DataError naming it
    with pytest.raises(DataError, match=bad.name):
        feed.get_waveforms("SZ", "BBB", "00", "HHN", t0, t0 + 60)


def test_fetch_window_sds_with_odd_codes_and_bad_ids(tmp_path: Path, settings: Settings) -> None:
    t0 = UTCDateTime(2026, 1, 4, 0, 10)
    for net, sta in STATIONS:
        _write_sds(tmp_path, net, sta, t0, t0 + 60)
    cfg = _feeds(settings, f"sds://{tmp_path}")
    ids = [f"{n}.{s}" for n, s in STATIONS] + ["SZ.TOOLONG", "SZ.A.B", "SZ.NONE"]
    res = fetch_window(cfg, None, t0, t0 + 60, stations=ids, max_workers=3)
    assert list(res) == ids
    for net, sta in STATIONS:
        r = res[f"{net}.{sta}"]
        assert r.ok and r.error is None
        assert r.n_samples == 6 * 6000
        assert r.channel_samples[f"{net}.{sta}.00.HHZ"] == 6000
        assert r.last_sample_end == t0 + 60
        _assert_same(r.stream, net, sta, t0, t0 + 60)  # type: ignore[arg-type]
    assert "TOOLONG" in (res["SZ.TOOLONG"].error or "")
    assert "not NET.STA" in (res["SZ.A.B"].error or "")
    assert res["SZ.NONE"].error is None and res["SZ.NONE"].n_samples == 0


def test_oversized_sds_day_file_is_named_and_not_read(tmp_path: Path, settings: Settings) -> None:
    """A 300 MB 'day file' for a 100 Hz channel (a sparse file: no disk used). Reading it
    would take ObsPy about a minute; it is refused at once, the other channels are read."""
    import os

    t0 = UTCDateTime(2026, 1, 4, 0, 10)
    (big,) = [p for p in _write_sds(tmp_path, "SZ", "AAA", t0, t0 + 60) if ".HHZ." in p.name]
    os.truncate(big, 300 * 2**20)
    res = fetch_window(_feeds(settings, f"sds://{tmp_path}"), None, t0, t0 + 60,
                       stations=["SZ.AAA"])["SZ.AAA"]
    assert res.error is None and res.ok
    assert "SZ.AAA.00.HHZ" not in res.channel_samples and len(res.channel_samples) == 5
    (warning,) = res.warnings
    assert str(big) in warning and "more than one day of channel HHZ can fill" in warning


@pytest.mark.network
def test_trickling_feed_is_cut_at_the_station_deadline(tmp_path: Path, settings: Settings) -> None:
    """feeds.timeout_s bounds a whole station request, even when every read gets a byte
    in time (no per-read socket timeout fires): the other stations are served."""
    t0 = UTCDateTime(2026, 1, 4, 0, 10)
    _write_sds(tmp_path, "SZ", "BBBB5", t0, t0 + 60)
    # an HTTP head, one byte every 0.5 s (bounded: 58 bytes)
    trickler = Trickler(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n", 0.5)
    try:
        base = _feeds(settings, f"sds://{tmp_path}",
                      {"SZ.AAA": f"http://127.0.0.1:{trickler.port}"})
        cfg = base.model_copy(update={"timeout_s": 1.0, "retries": 0})
        res = fetch_window(cfg, None, t0, t0 + 60, stations=["SZ.AAA", "SZ.BBBB5"],
                           max_workers=1)
    finally:
        trickler.close()
    err = res["SZ.AAA"].error or ""
    assert "no answer from http://127.0.0.1" in err and "within 1 s" in err
    assert res["SZ.BBBB5"].ok and res["SZ.BBBB5"].n_samples == 6 * 6000


# --------------------------------------------------------------------------- SeedLink
@pytest.fixture
def seedlink_server():  # type: ignore[no-untyped-def]
    srv = SeedLinkServer(synthetic_source, STATIONS, clock=lambda: T_NOW.timestamp)
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.network
def test_seedlink_feed_window_and_odd_codes(seedlink_server: SeedLinkServer) -> None:
    feed = open_feed(seedlink_server.url, timeout_s=5, retries=0)
    a, b = T_NOW - 70.5, T_NOW - 10.25  # fractional window edges
    for net, sta in STATIONS:
        st = feed.get_waveforms(net, sta, "*", "*", a, b)
        _assert_same(st, net, sta, a, b)
    st = feed.get_waveforms("SZ", "A-B", "00", "HHZ", a, b)
    assert [tr.id for tr in st] == ["SZ.A-B.00.HHZ"]
    # nothing yet for a window in the (server's) future: empty, no error
    assert len(feed.get_waveforms("SZ", "AAA", "*", "*", T_NOW + 10, T_NOW + 20)) == 0
    # a station the server does not serve is an error at once, not a silent timeout
    with pytest.raises(FeedError, match=r"does not serve SZ\.NOPE") as info:
        feed.get_waveforms("SZ", "NOPE", "*", "*", a, b)
    assert info.value.station == "SZ.NOPE"


@pytest.mark.network
def test_dead_feed_among_live_ones(seedlink_server: SeedLinkServer, settings: Settings) -> None:
    dead = f"seedlink://127.0.0.1:{_closed_port()}"
    cfg = _feeds(settings, seedlink_server.url, overrides={"SZ.BBBB5": dead})
    ids = [f"{n}.{s}" for n, s in STATIONS]
    a, b = T_NOW - 60, T_NOW
    res = fetch_window(cfg, None, a, b, stations=ids, max_workers=4)
    err = res["SZ.BBBB5"].error or ""
    assert res["SZ.BBBB5"].stream is None
    assert "SZ.BBBB5" in err and dead in err and "2 attempt" in err
    for sid in ("SZ.AAA", "SZ.A-B", "X1.x1"):
        assert res[sid].ok and res[sid].n_samples == 6 * 6000


@pytest.mark.network
def test_server_down_gives_feed_error(seedlink_server: SeedLinkServer) -> None:
    seedlink_server.down = True
    feed = open_feed(seedlink_server.url, timeout_s=2, retries=1, retry_delay_s=0.05)
    with pytest.raises(FeedError, match=r"SZ\.AAA") as info:
        feed.get_waveforms("SZ", "AAA", "*", "*", T_NOW - 10, T_NOW)
    assert info.value.station == "SZ.AAA"
    seedlink_server.down = False
    assert len(feed.get_waveforms("SZ", "AAA", "*", "*", T_NOW - 10, T_NOW)) == 6


# --------------------------------------------------------------------------- FDSN
@pytest.mark.network
def test_fdsn_dataselect_over_http() -> None:
    with FDSNDataselectServer(synthetic_source, STATIONS) as srv:
        feed = open_feed(srv.url, timeout_s=5, retries=0)
        a, b = T_NOW - 60.005, T_NOW - 1
        _assert_same(feed.get_waveforms("SZ", "AAA", "*", "*", a, b), "SZ", "AAA", a, b)
        st = feed.get_waveforms("X1", "x1", "10", "HN?", a, b)
        assert sorted(tr.stats.channel for tr in st) == ["HNE", "HNN", "HNZ"]
        # 204 No Content -> empty stream
        assert len(feed.get_waveforms("SZ", "NOPE", "*", "*", a, b)) == 0
        # the fdsnws:// form of the same server
        host_port = srv.url.split("://", 1)[1]
        st = open_feed(f"fdsnws://{host_port}", retries=0).get_waveforms(
            "SZ", "A-B", "00", "HHZ", a, b
        )
        assert [tr.id for tr in st] == ["SZ.A-B.00.HHZ"]
        assert any("/fdsnws/dataselect/1/query" in r for r in srv.requests)


@pytest.mark.network
def test_fdsn_garbage_and_refused_name_station_and_hide_credentials() -> None:
    with FDSNDataselectServer(synthetic_source, STATIONS, garbage=True) as srv:
        feed = open_feed(srv.url, timeout_s=5, retries=1, retry_delay_s=0.0)
        with pytest.raises(FeedError, match=r"SZ\.AAA") as info:
            feed.get_waveforms("SZ", "AAA", "*", "*", T_NOW - 10, T_NOW)
        assert srv.url in str(info.value) and "2 attempt" in str(info.value)
    url = f"http://reader:hunter2@127.0.0.1:{_closed_port()}"
    with pytest.raises(FeedError) as info:
        open_feed(url, timeout_s=2, retries=0).get_waveforms(
            "SZ", "AAA", "*", "*", T_NOW - 10, T_NOW
        )
    assert "hunter2" not in str(info.value) and "SZ.AAA" in str(info.value)


def test_secrets_in_feed_urls_never_reach_results_or_logs(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://reader:hunter2@127.0.0.1:{_closed_port()}/fdsnws?apikey=K3yV4lue&x=1"
    with caplog.at_level("DEBUG"):
        res = fetch_window(_feeds(settings, url), None, T_NOW - 10, T_NOW,
                           stations=["SZ.AAA"])["SZ.AAA"]
    assert res.error
    for text in (res.feed_url, res.error, caplog.text):
        assert "hunter2" not in text and "K3yV4lue" not in text
    assert "apikey=***" in res.feed_url


# --------------------------------------------------------------------------- simulator
def test_sim_feed_matches_simulator(settings: Settings, inventory) -> None:  # type: ignore[no-untyped-def]
    from seismo.inventory import stations
    from seismo.simulate import Simulator

    sid = stations(inventory)[0].id
    net, sta = sid.split(".")
    t0 = UTCDateTime(2025, 6, 1, 0, 0, 0)
    feed = open_feed("sim://?scenario=", simulator=settings.simulator, network=settings.network,
                     retries=0)
    st = feed.get_waveforms(net, sta, "*", "*", t0, t0 + 20)
    want = Simulator.from_settings(settings.simulator, settings.network, scenario=None)
    want = want.waveforms(net, sta, t0, t0 + 20)
    assert len(st) >= 3 and sorted(tr.id for tr in st) == sorted(tr.id for tr in want)
    for tr in st:
        np.testing.assert_array_equal(tr.data, want.select(id=tr.id)[0].data)
    with pytest.raises(FeedError, match=r"ZZ\.NOPE"):
        feed.get_waveforms("ZZ", "NOPE", "*", "*", t0, t0 + 20)


def test_fetch_window_shipped_config_uses_simulator(settings: Settings, inventory) -> None:  # type: ignore[no-untyped-def]
    from seismo.inventory import stations

    ids = [s.id for s in stations(inventory)][:3]
    t0 = UTCDateTime(2025, 6, 1, 0, 10, 0)
    res = fetch_window(settings.feeds, inventory, t0, t0 + 30, stations=ids, max_workers=2,
                       simulator=settings.simulator, network=settings.network)
    assert list(res) == ids
    for r in res.values():
        assert r.ok, r.error
        assert r.feed_url == "sim://"
        assert all(n == 3000 for n in r.channel_samples.values())
