"""Shared fixtures: the shipped configuration, inventory and a scratch config."""

from __future__ import annotations

from pathlib import Path

import pytest

from seismo.config import DEFAULT_CONFIG, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The shipped configuration (config/seismo.toml)."""
    return load_settings(DEFAULT_CONFIG)


@pytest.fixture(scope="session")
def inventory(settings: Settings):  # type: ignore[no-untyped-def]
    from seismo.inventory import load_inventory

    return load_inventory(settings.network.inventory)
