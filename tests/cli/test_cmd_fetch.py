"""``seismo fetch`` end to end: shipped config (simulator), a given feed, a dead feed."""

from __future__ import annotations

import socket

import pytest
from fdsn_server import synthetic_source
from obspy import UTCDateTime

from seismo.cli.main import main
from seismo.config import Settings
from seismo.inventory import stations
from seismo.io.seedlink import SeedLinkServer


def test_fetch_with_shipped_config_needs_no_server(inventory, capsys) -> None:  # type: ignore[no-untyped-def]
    ids = [s.id for s in stations(inventory)][:2]
    args = ["fetch", "--start", "2025-06-01T00:00:00", "--end", "2025-06-01T00:00:20"]
    for sid in ids:
        args += ["--station", sid]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert all(sid in out for sid in ids)
    assert "2 stations: 2 with data, 0 errors" in out


@pytest.mark.network
def test_fetch_from_seedlink_and_from_a_dead_feed(settings: Settings, capsys) -> None:  # type: ignore[no-untyped-def]
    t_now = UTCDateTime(2026, 3, 1, 12)
    sta = [("SZ", "AAA"), ("SZ", "A-B")]
    with SeedLinkServer(synthetic_source, sta, clock=lambda: t_now.timestamp) as srv:
        code = main(
            [
                "fetch",
                "--feed",
                srv.url,
                "--station",
                "SZ.AAA",
                "--station",
                "SZ.A-B",
                "--start",
                "2026-03-01T11:58:00",
                "--end",
                "2026-03-01T11:59:00",
                "--channels",
            ]
        )
    out = capsys.readouterr().out
    assert code == 0
    assert "SZ.A-B.10.HNZ" in out and "36000" in out
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(
        [
            "fetch",
            "--feed",
            f"fdsnws://127.0.0.1:{port}",
            "--station",
            "SZ.AAA",
            "--start",
            "2026-03-01T11:58:00",
            "--end",
            "2026-03-01T11:59:00",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "1 stations: 0 with data, 1 errors" in out and f"127.0.0.1:{port}" in out


def test_fetch_rejects_bad_arguments(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["fetch", "--start", "2025-06-01T00:01:00", "--end", "2025-06-01T00:00:00"]) == 1
    assert "must be after" in capsys.readouterr().err
    assert main(["fetch", "--station", "BAOA"]) == 1
    assert "NET.STA" in capsys.readouterr().err
