"""The monitored network, ``[network]``: where its station metadata, velocity model and
sites live, its name and its region.

Every layer reads this section (the stages the velocity model and sites, the simulator
and the feeds the inventory, the alerts the region and the name), so it sits in the
foundation, next to :mod:`seismo.inventory`; like every settings module it imports
nothing heavier than pydantic.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from seismo.config.base import PRINTABLE, StrictModel

__all__ = ["NetworkConfig"]


class NetworkConfig(StrictModel):
    """Where the station metadata, velocity model and sites live."""

    inventory: Path = Field(description="StationXML file (or directory of files)")
    velocity_model: Path = Field(description="1-D layered velocity model (TOML)")
    sites: Path = Field(description="Sites for predicted intensity (TOML)")
    name: str = Field("seismo network", description="Human-readable network name",
                      pattern=PRINTABLE, min_length=1)
    name_zh: str = Field("", description="The network's name in Chinese, for the Chinese "
                         "texts of alerts (default: name)", pattern=PRINTABLE)
    region: tuple[float, float, float, float] = Field(
        description="Monitored region: lat_min, lat_max, lon_min, lon_max (degrees)"
    )

    @model_validator(mode="after")
    def _check_region(self) -> NetworkConfig:
        la0, la1, lo0, lo1 = self.region
        if not (-90 <= la0 < la1 <= 90 and -180 <= lo0 < lo1 <= 180):
            raise ValueError(f"region {list(self.region)} must be lat_min<lat_max, lon_min<lon_max")
        return self
