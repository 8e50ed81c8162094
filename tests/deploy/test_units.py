"""The unit files in deploy/: every one reads, expands and names real programs."""

from __future__ import annotations

from pathlib import Path

import pytest

from seismo.deploy.layout import DEFAULT_SERVICES, Layout, ensure_env, read_env
from seismo.deploy.units import load_service, load_services, parse_unit
from seismo.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(root=ROOT, state=tmp_path / "stack")


def test_every_service_of_the_stack_loads_from_its_unit(layout: Layout) -> None:
    env, created = ensure_env(layout)
    assert created and (layout.env_file.stat().st_mode & 0o777) == 0o600
    services = load_services(layout, env)
    assert [s.name for s in services] == list(DEFAULT_SERVICES)
    for s in services:
        # paths of the unit files mapped onto this layout, variables expanded
        assert not any("/opt/seismo" in a or "/var/lib/seismo" in a or "${" in a
                       for a in s.argv), s.argv
        assert s.restart in ("always", "on-failure"), s.name
        prog = next(a for a in s.argv if a.startswith("/") and "=" not in a)
        assert prog.startswith((str(ROOT), "/usr/")), prog
    by = {s.name: s for s in services}
    assert by["seismo-postgresql"].user == "postgres"
    assert "--celery-hostname" in by["seismo-celery-worker@2"].argv
    assert any(a.endswith(env["SEISMO_WORKER_LOG_PORT_2"]) for a in
               by["seismo-celery-worker@2"].argv)
    assert "seismo-provision" in by["seismo-airflow-scheduler"].after
    # a second up reuses the file: the secrets stay
    again, created = ensure_env(layout)
    assert not created and again == env


def test_secrets_are_generated_and_distinct(tmp_path: Path) -> None:
    a, b = (ensure_env(Layout(root=ROOT, state=tmp_path / n))[0] for n in "ab")
    assert read_env(tmp_path / "a" / "etc" / "stack.env") == a
    for key in ("SEISMO_PG_PASSWORD", "SEISMO_REDIS_PASSWORD", "SEISMO_WEB_SECRET",
                "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
                "AIRFLOW__CORE__FERNET_KEY"):
        assert len(a[key]) >= 32 and a[key] != b[key], key


def test_unit_syntax_continuations_and_specifiers() -> None:
    unit = parse_unit("[Unit]\nAfter=a.service \\\n  b.service\n# c\n[Service]\nX=1\nX=2\n")
    assert unit["Unit"]["After"] == ["a.service  b.service"]
    assert unit["Service"]["X"] == ["1", "2"]


def test_unset_variable_and_missing_unit_are_errors(layout: Layout, tmp_path: Path) -> None:
    units = tmp_path / "units"
    units.mkdir()
    (units / "seismo-x.service").write_text("[Service]\nExecStart=/bin/echo ${NOPE}\n")
    lay = Layout(root=tmp_path, state=tmp_path / "s")
    (tmp_path / "deploy").symlink_to(units)
    with pytest.raises(ConfigError, match="NOPE"):
        load_service("seismo-x", lay, {})
    with pytest.raises(ConfigError, match="no unit file"):
        load_service("seismo-y", lay, {})


def test_split_stream_units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SEISMO_STACK_STREAM_PARTS=2 at the first up: two picker parts and the associator
    in place of the one stream process, each with its own heartbeat probe; the stack's
    configuration names its Redis as the broker."""
    import socket

    from seismo.config import load_settings
    from seismo.deploy.layout import stack_config_text

    monkeypatch.setenv("SEISMO_STACK_STREAM_PARTS", "2")
    lay = Layout(root=ROOT, state=tmp_path / "stack")
    env, _ = ensure_env(lay)
    by = {s.name: s for s in load_services(lay, env)}
    assert "seismo-stream" not in by
    names = list(by)
    at = names.index("seismo-stream-pickers@1")
    assert names[at:at + 3] == ["seismo-stream-pickers@1", "seismo-stream-pickers@2",
                                "seismo-stream-associator"]
    p2, assoc = by["seismo-stream-pickers@2"], by["seismo-stream-associator"]
    assert p2.argv[-5:] == ("stream", "--role", "pickers", "--part", "2/2")
    assert assoc.argv[-3:] == ("stream", "--role", "associator")
    host = socket.gethostname()
    assert p2.health == f"heartbeat:{host}:pickers-2of2"
    assert assoc.health == f"heartbeat:{host}:associator"
    assert "seismo-redis" in p2.after and "seismo-redis" in assoc.after
    lay.etc.mkdir(parents=True, exist_ok=True)
    lay.config.write_text(stack_config_text(lay, env), encoding="utf-8")
    broker = load_settings(lay.config).stream.broker
    assert broker.url == f"redis://127.0.0.1:{env['SEISMO_REDIS_PORT']}/1"
    assert broker.password_env in env  # the units read the password from stack.env
    monkeypatch.setenv("SEISMO_STACK_STREAM_PARTS", "many")
    with pytest.raises(ConfigError, match="SEISMO_STACK_STREAM_PARTS"):
        ensure_env(Layout(root=ROOT, state=tmp_path / "other"))
