"""SDS paths are made of FDSN codes only: no code may lead outside the archive root."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from obspy import Trace, UTCDateTime

from seismo.errors import InventoryError
from seismo.io.feeds.base import ChannelRequest
from seismo.io.sds import day_file, day_files, sds_path

DAY = UTCDateTime(2026, 1, 15)
BAD = ["../../x", "A/B", "A\\B", "A B", "A\x00B", "..", ""]


@pytest.mark.parametrize("code", BAD)
def test_a_bad_station_code_makes_no_sds_path(tmp_path: Path, code: str) -> None:
    with pytest.raises(InventoryError, match="invalid station code"):
        day_file(tmp_path, "SZ", code, "", "HHZ", DAY)
    tr = Trace(np.zeros(10, np.int32), header={"network": "SZ", "station": code,
                                              "channel": "HHZ", "starttime": DAY})
    with pytest.raises(InventoryError, match="invalid station code"):
        sds_path(tmp_path, tr, DAY)


@pytest.mark.parametrize(("kind", "net", "sta", "loc", "cha"), [
    ("network", "../x", "FUT", "", "HHZ"),
    ("location", "SZ", "FUT", "../..", "HHZ"),
    ("channel", "SZ", "FUT", "", "H/Z"),
])
def test_every_code_of_an_sds_path_is_checked(
    tmp_path: Path, kind: str, net: str, sta: str, loc: str, cha: str
) -> None:
    with pytest.raises(InventoryError, match=f"invalid {kind} code"):
        day_file(tmp_path, net, sta, loc, cha, DAY)


def test_good_codes_and_wildcards_still_make_paths(tmp_path: Path) -> None:
    p = day_file(tmp_path, "SZ", "FUT-1", "00", "HHZ", DAY)
    assert p == tmp_path / "2026" / "SZ" / "FUT-1" / "HHZ.D" / "SZ.FUT-1.00.HHZ.D.2026.015"
    p.parent.mkdir(parents=True)
    p.write_bytes(b"")
    assert day_files(tmp_path, ChannelRequest("SZ", "FUT-1", "*", "HH?", DAY, DAY + 60)) == [p]
    tr = Trace(np.zeros(10, np.int32), header={"network": "SZ", "station": "FUT",
                                              "channel": "HHZ", "starttime": DAY})
    assert sds_path(tmp_path, tr, DAY).parent == tmp_path / "2026" / "SZ" / "FUT" / "HHZ.D"
    with pytest.raises(InventoryError):  # a wildcard is a pattern, not a file to write
        sds_path(tmp_path, Trace(header={"network": "SZ", "station": "F*"}), DAY)
