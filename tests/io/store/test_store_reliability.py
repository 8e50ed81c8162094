"""Storage failures never cost an alert; bad or foreign spool segments never block replay.

The full disk is a real 256 KiB tmpfs filled to the brim, the read-only disk a
read-only tmpfs (both need root to mount: skipped with the reason otherwise);
InfluxDB is the session's real influxd.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_factories import T0, make_event, make_pick, make_result

from seismo.alerts.service import AlertService
from seismo.config import Settings
from seismo.errors import StoreError
from seismo.io.store import InfluxConnection, InfluxStore
from seismo.io.store import points as P
from seismo.io.store.server import InfluxServer, free_port
from seismo.io.store.spool import QUARANTINE, Spool
from seismo.shells.publish import Runner
from seismo.shells.window_context import Window

pytestmark = pytest.mark.influx


def _mount_tmpfs(target: Path, options: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or res.returncode}): "
                    "the full-disk test needs root")


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


@pytest.fixture(params=["full", "read-only"])
def bad_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A spool directory on a disk that cannot take a segment, and the expected reason."""
    mnt = tmp_path / "disk"
    if request.param == "full":
        _mount_tmpfs(mnt, "size=256k")
        try:
            (mnt / "spool").mkdir()
            with open(mnt / "filler", "wb") as fh, contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            yield mnt / "spool", os.strerror(errno.ENOSPC)
        finally:
            _umount(mnt)
    else:
        _mount_tmpfs(mnt, "size=256k")
        (mnt / "spool").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        try:
            yield mnt / "spool", os.strerror(errno.EROFS)
        finally:
            _umount(mnt)


def _alerting(settings: Settings, tmp_path: Path) -> AlertService:
    cfg = settings.alerts.model_copy(update={"outbox_dir": tmp_path / "outbox", "enabled": True})
    s = settings.model_copy(update={"alerts": cfg})
    return AlertService.from_settings(s.alerts, s.network, alert_dir=tmp_path / "cap")


def _window() -> Window:
    start = T0 - (T0.timestamp % 60)
    return Window(start, start + 60, 30.0, 60.0)


def test_full_or_read_only_spool_still_alerts_and_stores(
    settings: Settings, influx_server: InfluxServer, tmp_path: Path,
    bad_disk: tuple[Path, str],
) -> None:
    """Spool disk unusable, InfluxDB up: alert delivered, points written straight through."""
    spool_dir, reason = bad_disk
    with pytest.raises(StoreError, match=reason):
        Spool(spool_dir).append(["m f=1i 1"])  # the disk really refuses
    conn = InfluxConnection(url=influx_server.url, database=f"t_{uuid.uuid4().hex[:12]}")
    store = InfluxStore(conn, spool_dir, retry_interval_s=0.0)
    runner = Runner(settings, store=store, alerts=_alerting(settings, tmp_path))
    ev = make_event("seismo2026abc")
    rep = runner.handle_parts(_window(), [make_result("ST01")], [ev])
    store.close()
    assert rep.alerts_queued >= 1 and rep.alerts_delivered >= 1
    assert list((tmp_path / "cap").glob("*.cap.xml"))
    assert rep.store_error is None
    assert store.count(P.EVENTS) == 1 and store.count(P.PICKS) == 1


def test_spool_and_server_both_down_alerts_then_fails_loudly(
    settings: Settings, tmp_path: Path, bad_disk: tuple[Path, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing can store: the alert still goes out, the report names the cause."""
    spool_dir, reason = bad_disk
    conn = InfluxConnection(url=f"http://127.0.0.1:{free_port()}", database="x", timeout_s=2)
    store = InfluxStore(conn, spool_dir, retry_interval_s=0.0)
    runner = Runner(settings, store=store, alerts=_alerting(settings, tmp_path))
    rep = runner.handle_parts(_window(), [make_result("ST01")], [make_event("seismo2026abd")])
    assert rep.alerts_delivered >= 1 and list((tmp_path / "cap").glob("*.cap.xml"))
    assert rep.store_error is not None and reason in rep.store_error
    assert "STORE FAILED" in caplog.text


def test_airflow_task_fails_after_alerting_when_nothing_can_store(
    settings: Settings, tmp_path: Path, bad_disk: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``store_and_alert`` raises (the run is red and retried) only after the alert went out."""
    from seismo.alerts.channels.directory import DirectoryConfig
    from seismo.config import settings_to_toml
    from seismo.shells import airflow_tasks

    spool_dir, reason = bad_disk
    store = settings.store.model_copy(update={
        "url": f"http://127.0.0.1:{free_port()}", "spool_dir": spool_dir, "timeout_s": 2.0})
    alerts = settings.alerts.model_copy(update={
        "outbox_dir": tmp_path / "outbox",
        "channels": {"audit": DirectoryConfig(path=tmp_path / "cap")},
        "groups": {"oncall": ["audit"], "tsunami": ["audit"], "engineers": ["audit"]},
    })
    cfg = tmp_path / "seismo.toml"
    cfg.write_text(settings_to_toml(settings.model_copy(update={"store": store,
                                                                 "alerts": alerts})))
    monkeypatch.setenv("SEISMO_CONFIG", str(cfg))
    ev = make_event("seismo2026abe")
    with pytest.raises(StoreError, match=reason):
        airflow_tasks.store_and_alert([make_result("ST01").to_dict()], [ev.to_dict()],
                                      _window().to_dict())
    assert list((tmp_path / "cap").glob("*seismo2026abe*"))


def test_corrupt_segment_is_quarantined_and_the_rest_replayed(
    store: InfluxStore, caplog: pytest.LogCaptureFixture
) -> None:
    picks = [make_pick(f"ST{i:02d}") for i in range(6)]
    lines = [P.to_line(P.pick_point(p)) for p in picks]
    store.spool.append(lines[:3])
    bad = store.spool.directory / "00000000000000000001-00000001-00000001.lp"
    bad.write_bytes(b"picks,station=X snr=1 \xff\xfe\xfd 1\n")
    store.spool.append(lines[3:])
    rep = store.flush_spool()
    assert rep.replayed == 6 and store.pending() == 0
    assert store.count(P.PICKS) == 6
    assert not bad.exists() and (store.spool.directory / QUARANTINE / bad.name).exists()
    assert "not valid UTF-8" in caplog.text and bad.name in caplog.text
    # later runs go on normally
    assert store.write_picks([make_pick("ST99")]).written == 1


def test_segment_is_replayed_only_to_its_destination(
    influx_server: InfluxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Spooled for database A; configuration changed to database B: B leaves them for A."""
    spool = tmp_path / "spool"
    a = InfluxStore(InfluxConnection(url=influx_server.url, database=f"a_{uuid.uuid4().hex[:8]}"),
                    spool, retry_interval_s=0.0)
    b = InfluxStore(InfluxConnection(url=influx_server.url, database=f"b_{uuid.uuid4().hex[:8]}"),
                    spool, retry_interval_s=0.0)
    lines = [P.to_line(P.pick_point(make_pick(f"ST{i:02d}"))) for i in range(4)]
    a.spool.append(lines)  # A was down when these were written
    seg = a.spool.segments()[0]
    assert seg.read_text().startswith("# seismo-spool destination=" + a.spool.destination)
    b.write_picks([make_pick("BB01")])  # B drains on every write
    b.flush_spool()
    assert b.count(P.PICKS) == 1  # only its own point
    assert seg.exists()
    assert "not for this store" in caplog.text
    assert a.flush_spool().replayed == 4
    assert a.count(P.PICKS) == 4 and not seg.exists()
    a.close()
    b.close()


def test_replay_reports_segments_kept_for_another_destination(
    influx_server: InfluxServer, settings: Settings, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every write replays the spool; segments left for another destination are reported
    in the write report (and in a window's report, so ``seismo detect`` says so) and logged
    once, not silently skipped on every write."""
    spool = tmp_path / "spool"
    a = InfluxStore(InfluxConnection(url=influx_server.url, database=f"a_{uuid.uuid4().hex[:8]}"),
                    spool, retry_interval_s=0.0)
    b = InfluxStore(InfluxConnection(url=influx_server.url, database=f"b_{uuid.uuid4().hex[:8]}"),
                    spool, retry_interval_s=0.0)
    a.spool.append([P.to_line(P.pick_point(make_pick("ST01")))])
    a.spool.append([P.to_line(P.pick_point(make_pick("ST02")))])
    first = b.write_picks([make_pick("BB01")])
    second = b.write_picks([make_pick("BB02")])
    want = {a.spool.destination: 2}
    assert first.kept_foreign == want and second.kept_foreign == want
    assert caplog.text.count("2 spool segments") == 1  # said once, reported every time
    runner = Runner(settings, store=b)
    rep = runner.handle_parts(_window(), [make_result("ST03")], [])
    assert rep.spool_kept == want
    a.close()
    b.close()


def test_headerless_segment_from_older_release_is_replayed(store: InfluxStore) -> None:
    lines = [P.to_line(P.pick_point(make_pick(f"ST{i:02d}"))) for i in range(3)]
    Spool(store.spool.directory).append(lines)  # no destination: the old format
    assert store.flush_spool().replayed == 3
    assert store.count(P.PICKS) == 3


def test_crafted_database_name_cannot_drop_another(
    influx_server: InfluxServer, tmp_path: Path
) -> None:
    """The database name is quoted in CREATE DATABASE: it stays a name, never a statement."""
    victim = InfluxStore(InfluxConnection(url=influx_server.url,
                                          database=f"victim_{uuid.uuid4().hex[:8]}"),
                         tmp_path / "v", retry_interval_s=0.0)
    assert victim.write_picks([make_pick("ST01")]).written == 1
    crafted = f'x{uuid.uuid4().hex[:6]}"; DROP DATABASE "{victim.connection.database}'
    evil = InfluxStore(InfluxConnection(url=influx_server.url, database=crafted, api="v1"),
                       tmp_path / "e", retry_interval_s=0.0)
    rep = evil.write_picks([make_pick("ST02")])
    assert victim.count(P.PICKS) == 1
    assert rep.written == 1 and evil.count(P.PICKS) == 1  # its own, oddly named, database
    victim.close()
    evil.close()
