"""``seismo simulate``: an SDS archive of a scenario, the scenario list, bad names."""

from __future__ import annotations

from obspy import UTCDateTime
from obspy.clients.filesystem.sds import Client as SDSClient

from seismo.cli.main import main


def test_cli_simulate_sds(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = main(["simulate", "--scenario", "felt_m3_city", "--sds", str(tmp_path),
               "--start", "2026-01-15T03:02:00", "--end", "2026-01-15T03:02:30",
               "--stations", "SZ.LHUA,SZ.BAOA"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "wrote 9 day files" in out and "ML 3.0" in out
    st = SDSClient(str(tmp_path)).get_waveforms(
        "SZ", "LHUA", "00", "HHZ", UTCDateTime("2026-01-15T03:02:00"),
        UTCDateTime("2026-01-15T03:02:30"))
    assert st[0].stats.npts >= 2999
    assert main(["simulate", "--list"]) == 0
    assert "faults_demo" in capsys.readouterr().out
    assert main(["simulate", "--scenario", "nope", "--sds", str(tmp_path)]) == 1
    assert main(["simulate", "--sds", str(tmp_path), "--stations", "SZ.NOPE"]) == 1
    assert "SZ.NOPE" in capsys.readouterr().err
