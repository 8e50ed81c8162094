"""The split stream end to end, in real time: the simulator's SeedLink server on
loopback serving the scenario quake, a real ``redis-server``, two picker parts
(``seismo stream --role pickers --part K/2``) and the associator (``--role
associator``) as subprocesses, beside the single process (``seismo stream``) on the
same server. The associator publishes the event the single process publishes, with
one CAP Alert.

The quake is placed LEAD_S after the server starts (the filters' warm-up), so the test
takes about 40 s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from obspy import UTCDateTime
from redis_helpers import PASSWORD, redis_server
from test_stream import SCENARIO, _alerts, _config, _reference, _stop, _wait

from seismo.config import PROJECT_ROOT, Settings
from seismo.geo import distance_km
from seismo.io.event_archive import read_event_waveforms
from seismo.io.seedlink import serve_simulation
from seismo.shells.demo import stop_process
from seismo.shells.stream_part import part_stations

pytestmark = [pytest.mark.slow, pytest.mark.network]

LEAD_S = 22.0


@contextmanager
def _seismo(config: Path, log: Path, *args: str) -> Iterator[subprocess.Popen]:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), SEISMO_REDIS_PASSWORD=PASSWORD)
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "seismo.cli.main", "-v", "--config", str(config), "stream",
             "--no-store", *args],
            stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=str(PROJECT_ROOT))
    try:
        yield proc
    finally:
        stop_process(proc)


def _events(state: Path) -> list[dict[str, object]]:
    return list(json.loads(state.read_text(encoding="utf-8"))["events"])


def test_split_stream_publishes_the_single_process_event(settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    origin = UTCDateTime(round(float(UTCDateTime()) + LEAD_S, 2))
    server = serve_simulation(settings.simulator, settings.network, scenario=SCENARIO,
                              reference=_reference(settings, origin), host="127.0.0.1",
                              port=0)
    single, split = tmp_path / "single", tmp_path / "split"
    single.mkdir()
    split.mkdir()
    with ExitStack() as stack:
        stack.callback(server.stop)
        redis = stack.enter_context(redis_server(tmp_path / "redis"))
        broker = settings.stream.broker.model_copy(update={"url": redis.url,
                                                           "prefix": "test:split"})
        one_cfg = _config(settings.model_copy(update={"stream": settings.stream.model_copy(
            update={"event_archive_dir": single / "waveforms"})}), single)
        two_cfg = _config(settings.model_copy(update={"stream": settings.stream.model_copy(
            update={"broker": broker, "event_archive_dir": split / "waveforms"})}), split)
        procs = {
            "single": stack.enter_context(_seismo(
                one_cfg, single / "stream.log", "--feed", server.url, "--alert-dir",
                str(single / "alerts"))),
            "associator": stack.enter_context(_seismo(
                two_cfg, split / "associator.log", "--role", "associator", "--alert-dir",
                str(split / "alerts"))),
            **{f"part{k}": stack.enter_context(_seismo(
                two_cfg, split / f"part{k}.log", "--role", "pickers", "--part", f"{k}/2",
                "--feed", server.url)) for k in (1, 2)},
        }
        for where in (single, split):
            log = where / ("stream.log" if where is single else "associator.log")
            _wait(lambda w=where: bool(_alerts(w / "alerts")), origin + 35, "a CAP Alert", log)
        # the versions that follow the first (magnitude from more stations) settle
        _wait(lambda: UTCDateTime() > origin + 14, origin + 20, "the wait", single / "stream.log")
        codes = {name: _stop(p) for name, p in procs.items()}
    assert codes == dict.fromkeys(procs, 0)
    # one Alert each, about the same event
    assert len(_alerts(single / "alerts")) == 1 and len(_alerts(split / "alerts")) == 1
    (one,), (two,) = _events(single / "state.json"), _events(split / "state.associator.json")
    assert abs(UTCDateTime(str(one["time"])) - UTCDateTime(str(two["time"]))) < 1.0
    km = float(distance_km(float(one["latitude"]), float(one["longitude"]),  # type: ignore[arg-type]
                           float(two["latitude"]), float(two["longitude"])))  # type: ignore[arg-type]
    assert km < 3.0, (one, two)
    assert one["magnitude"] is not None and two["magnitude"] is not None
    assert abs(float(one["magnitude"]) - float(two["magnitude"])) <= 0.2, (one, two)  # type: ignore[arg-type]
    # each part read its own stations, together every station, none twice
    served = sorted(json.loads((single / "state.json").read_text())["positions"])
    parts = [sorted(json.loads((split / f"state.pickers-{k}of2.json").read_text())["positions"])
             for k in (1, 2)]
    assert parts == [part_stations(served, 1, 2), part_stations(served, 2, 2)]
    assert parts[0] and parts[1] and sorted(parts[0] + parts[1]) == served
    # the event's waveforms: the parts' records together, the stations of the single one
    eid = str(two["id"])
    assert eid == one["id"]
    ws = read_event_waveforms(split / "waveforms", eid)
    w1 = read_event_waveforms(single / "waveforms", eid)
    assert ws is not None and w1 is not None
    assert sorted(p.name for p in (split / "waveforms").iterdir()) == [
        f"{eid}.pickers-1of2.mseed", f"{eid}.pickers-2of2.mseed"]
    assert {tr.stats.station for tr in ws} == {tr.stats.station for tr in w1}
    text = (split / "associator.log").read_text(errors="replace")
    assert "seismo stream, associator" in text and "Traceback" not in text
