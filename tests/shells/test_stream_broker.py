"""The broker of the split stream against a real ``redis-server`` on loopback: batches
of real picks and station updates through Redis Streams and back, the consumer group
after a restart (pending entries first, replay of what was delivered), the picker's
bounded buffer through a Redis outage, and a clear error when Redis is not there."""

from __future__ import annotations

import json

import pytest
from redis_helpers import PASSWORD, RedisServer, redis_server

from seismo.config import DEFAULT_CONFIG, load_settings
from seismo.errors import BrokerError, ConfigError
from seismo.shells.settings import BrokerConfig
from seismo.shells.stream_amplitudes import station_update
from seismo.shells.stream_broker import (
    ArchiveRequest,
    BatchReceiver,
    BatchSender,
    PartBatch,
    open_broker,
)
from seismo.shells.stream_pickers import StationPickers, StationPicks
from seismo.shells.window_context import Context

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def batches(settings, quake_records) -> list[PartBatch]:  # type: ignore[no-untyped-def]
    """Six batches of one part: the scenario quake's picks and station updates."""
    q = quake_records
    ctx = Context.from_settings(settings, check_responses=False)
    pk = StationPickers({k: v for k, v in ctx.stations.items() if k in q.stations},
                        ctx.inventory, settings.picker, settings.intensity,
                        settings.instrument, settings.stream, at=q.t0)
    out, msgs = [], []
    step = len(q.records) // 6 + 1
    for k, rec in enumerate(q.records):
        msg = pk.process(rec, float(rec.header.end) + 0.5)
        if msg is not None and (msg.final or msg.provisional):
            msgs.append(msg)
        if (k + 1) % step == 0 or k == len(q.records) - 1:
            ups = [u for sid, st in pk.states.items()
                   if (u := station_update(st, pk.arrived.get(sid), None)) is not None]
            out.append(PartBatch("1/2", float(rec.header.end) + 0.6, msgs, ups,
                                 {"records": pk.n_records, "picks": pk.n_picks}))
            msgs = []
    assert any(m.final for b in out for m in b.picks)
    return out


def _cfg(server: RedisServer, **kw: object) -> BrokerConfig:
    return BrokerConfig(url=server.url, prefix="test:split", **kw)  # type: ignore[arg-type]


def _same(a: PartBatch, b: PartBatch | None) -> bool:
    return b is not None and json.dumps(a.to_dict(), sort_keys=True) == json.dumps(
        b.to_dict(), sort_keys=True)


def test_batches_through_redis_and_a_restart(batches, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SEISMO_REDIS_PASSWORD", PASSWORD)
    # a batch survives JSON unchanged (picks, peaks, counts)
    for b in batches:
        assert _same(b, PartBatch.from_dict(json.loads(json.dumps(b.to_dict()))))
        for m in b.picks:
            assert StationPicks.from_dict(m.to_dict()) == m
    with redis_server(tmp_path / "redis") as server:
        broker = open_broker(_cfg(server))
        sender = BatchSender(broker, _cfg(server))
        rx = BatchReceiver(broker, "assoc", "node")
        assert list(rx.replay()) == []  # a new group: nothing delivered before
        for b in batches[:3]:
            sender.send(b, 0.0)
        assert sender.n_sent == 3 and not sender.buffer
        got = rx.read(100)
        assert len(got) == 3 and all(_same(b, g) for b, (_, g) in zip(batches[:3], got,
                                                                      strict=True))
        rx.ack([e for e, _ in got[:2]])  # the third is processed but not acknowledged
        for b in batches[3:]:
            sender.send(b, 0.0)
        # a restart: first the entries delivered before, then the pending one, then new
        rx2 = BatchReceiver(broker, "assoc", "node")
        replayed = list(rx2.replay())
        assert len(replayed) == 3 and all(_same(b, r) for b, r in zip(batches[:3], replayed,
                                                                      strict=True))
        pending = rx2.read(100)
        assert len(pending) == 1 and _same(batches[2], pending[0][1])
        rx2.ack([pending[0][0]])
        rest = rx2.read(100)
        assert len(rest) == 3 and all(_same(b, g) for b, (_, g) in zip(batches[3:], rest,
                                                                       strict=True))
        rx2.ack([e for e, _ in rest])
        assert rx2.read(50) == []  # nothing more (waited 50 ms)
        assert broker.length() == len(batches)
        broker.close()
        # the archive requests: every part reads every one after the newest it saw
        requests = open_broker(_cfg(server), stream="archive")
        assert requests.key == "test:split:archive" and requests.last_id() == "0-0"
        reqs = [ArchiveRequest("sz1", 10.0, 250.5), ArchiveRequest("sz2", 20.0, 260.0)]
        first = requests.add(reqs[0].to_dict())
        requests.add(reqs[1].to_dict())
        for reader in ("part 1", "part 2"):
            entries = requests.read_after("0-0", 10)
            assert [ArchiveRequest.from_dict(m) for _, m in entries] == reqs, reader
        assert [ArchiveRequest.from_dict(m) for _, m in requests.read_after(first, 10)] == [
            reqs[1]]
        assert requests.read_after(requests.last_id(), 10) == []
        requests.close()


def test_picker_buffers_through_an_outage(batches, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SEISMO_REDIS_PASSWORD", PASSWORD)
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        cfg = _cfg(server, buffer_s=10.0, publish_every_s=2.5)  # 4 batches kept
        broker = open_broker(cfg, timeout_s=1.0)
        sender = BatchSender(broker, cfg)
        rx = BatchReceiver(broker, "assoc", "node")
        list(rx.replay())
        sender.send(batches[0], 0.0)
        server.stop()  # Redis down (no persistence: it comes back empty)
        for k, b in enumerate(batches[1:], 1):
            sender.send(b, float(k))  # never raises
        assert sender.down_since is not None
        assert len(sender.buffer) == 4 and sender.n_dropped == 1  # the oldest went
        with pytest.raises(BrokerError):
            rx.read(10)
        server.start()
        sender.send(None, 100.0)
        assert not sender.buffer and sender.down_since is None and sender.n_sent == 5
        got = rx.read(100)  # the group is created again; the batches in order
        assert len(got) == 4
        assert all(_same(b, g) for b, (_, g) in zip(batches[2:], got, strict=True))
        broker.close()
    finally:
        server.stop()


def test_clear_errors_at_start(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"\[stream.broker\] url"):
        open_broker(BrokerConfig())
    server = RedisServer(tmp_path / "redis")  # not started: nothing listens on its port
    with pytest.raises(BrokerError, match=f"cannot start.*127.0.0.1:{server.port}"):
        open_broker(_cfg(server), timeout_s=1.0)
    with redis_server(tmp_path / "redis2") as up:
        monkeypatch.setenv("SEISMO_REDIS_PASSWORD", "wrong")
        with pytest.raises(BrokerError, match="cannot start"):
            open_broker(_cfg(up), timeout_s=1.0)
    # the section is strict: an unknown key is named with its file
    cfg = tmp_path / "seismo.toml"
    cfg.write_text(f'base = "{DEFAULT_CONFIG}"\n[stream.broker]\nurl = "redis://h:1/0"\n'
                   'max_len = 5\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"stream.broker.max_len: unknown key"):
        load_settings(cfg)
