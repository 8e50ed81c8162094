"""``seismo stations``: the inventory as a table, for any StationXML."""

from __future__ import annotations

from pathlib import Path

import pytest
from obspy import Inventory

from seismo.cli.main import main
from seismo.inventory import stations


def _rows(out: str) -> list[str]:
    lines = out.splitlines()
    return lines[2:-1]  # header, rule, rows, summary


def test_one_row_per_station_and_per_channel(
    inventory: Inventory, capsys: pytest.CaptureFixture[str]
) -> None:
    stas = stations(inventory)
    n_channels = sum(len(s.channels) for s in stas)
    assert main(["stations"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == f"{len(stas)} stations, {n_channels} channels"
    rows = _rows(out)
    assert [r.split()[0] for r in rows] == [s.id for s in stas]
    assert main(["stations", "--channels"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert [r.split()[0] for r in rows] == [c.seed_id for s in stas for c in s.channels]


def test_another_inventory_is_listed(
    inventory: Inventory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = stations(inventory)[0]
    net, sta = first.id.split(".")
    path = tmp_path / "one.xml"
    inventory.select(network=net, station=sta).write(str(path), format="STATIONXML")
    assert main(["stations", "--inventory", str(path)]) == 0
    out = capsys.readouterr().out
    assert [r.split()[0] for r in _rows(out)] == [first.id]
    assert out.splitlines()[-1].startswith("1 stations, ")


def test_missing_or_broken_inventory_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stations", "--inventory", str(tmp_path / "nope.xml")]) == 1
    assert "inventory not found" in capsys.readouterr().err
    bad = tmp_path / "bad.xml"
    bad.write_text("<FDSNStationXML>not closed", encoding="utf-8")
    assert main(["stations", "--inventory", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("seismo stations: error: cannot read StationXML") and str(bad) in err
