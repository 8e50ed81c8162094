"""Sites file (config/sites.toml) loading and strict validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from seismo.errors import ConfigError
from seismo.event.sites import Site, load_sites, parse_sites


def test_shipped_sites(settings) -> None:
    sites = load_sites(settings.network.sites)
    assert sites and all(isinstance(s, Site) for s in sites)
    assert len({s.name for s in sites}) == len(sites)
    assert all(-90 <= s.latitude <= 90 and -180 <= s.longitude <= 180 for s in sites)
    assert {"district", "nuclear_plant"} <= {s.kind for s in sites}


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sites.toml"
    p.write_text(text, encoding="utf-8")
    return p


GOOD = '[[sites]]\nname = "A"\nkind = "shelter"\nlatitude = 22\nlongitude = 114.1\n'


def test_minimal_file(tmp_path: Path) -> None:
    (site,) = load_sites(_write(tmp_path, GOOD))
    assert site == Site(name="A", kind="shelter", latitude=22.0, longitude=114.1, name_zh="")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (GOOD.replace("latitude = 22", "latitude = 91"), "sites[0].latitude"),
        (GOOD + "colour = 1\n", "sites[0].colour: unknown key"),
        (GOOD.replace('kind = "shelter"\n', ""), "sites[0].kind"),
        (GOOD.replace("longitude = 114.1", 'longitude = "east"'), "sites[0].longitude"),
        (GOOD + GOOD, "duplicate name 'A'"),
        ("[[site]]\nname = 1\n", "site: unknown key"),
        ("sites = [", "not valid TOML"),
    ],
)
def test_invalid_files_name_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_sites(path)
    assert needle in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_sites(tmp_path / "nope.toml")
    assert parse_sites({}) == []
