"""Sites where intensity is predicted for every located event (``config/sites.toml``).

File format::

    [[sites]]
    name = "Futian District"      # unique, non-empty
    name_zh = "福田区"             # optional
    kind = "district"             # district | nuclear_plant | shelter | airport | ... (free word)
    latitude = 22.541             # degrees, WGS84, [-90, 90]
    longitude = 114.055           # degrees, WGS84, [-180, 180]
    vs30 = 350.0                  # optional: time-averaged shear velocity of the top 30 m, m/s

Validation is strict: an unknown key, a missing key, a wrong type, an
out-of-range coordinate or a duplicate name raises
:class:`~seismo.errors.ConfigError` naming the file and the key
(``sites[3].latitude``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seismo.config import read_toml
from seismo.config.base import PRINTABLE, validation_problems
from seismo.errors import ConfigError


@dataclass(frozen=True)
class Site:
    """A named place; coordinates in degrees (WGS84)."""

    name: str
    kind: str
    latitude: float
    longitude: float
    name_zh: str = ""
    vs30: float | None = None  # m/s; None: no site term (the relation's average site)


#: Text without control characters (CR, LF, TAB, ...).
class _SiteModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    # no control characters: a name goes into e-mail headers, CAP and InfluxDB line protocol,
    # where a CR/LF breaks every message and every stored event
    name: Annotated[str, Field(min_length=1, pattern=PRINTABLE)]
    name_zh: Annotated[str, Field(pattern=PRINTABLE)] = ""
    kind: Annotated[str, Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")]
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]
    vs30: Annotated[float, Field(gt=50, le=3000)] | None = None

    @field_validator("latitude", "longitude", "vs30", mode="before")
    @classmethod
    def _int_ok(cls, v: object) -> object:
        # TOML "22" is an int; accept it as degrees (strict mode would refuse).
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


class _SitesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sites: list[_SiteModel] = Field(default_factory=list)


def parse_sites(data: dict[str, object], source: Path | str = "<memory>") -> list[Site]:
    """Validate a parsed sites mapping. Raises ConfigError naming ``source`` and the key."""
    src = Path(source)
    try:
        model = _SitesFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid sites file {src}: " + "; ".join(validation_problems(exc, indexed=True))
        ) from None
    seen: dict[str, int] = {}
    out = []
    for i, s in enumerate(model.sites):
        if s.name in seen:
            raise ConfigError(
                f"invalid sites file {src}: sites[{i}].name: duplicate name {s.name!r} "
                f"(first at sites[{seen[s.name]}])"
            )
        seen[s.name] = i
        out.append(Site(**s.model_dump()))  # the model's fields are the Site's
    return out


def load_sites(path: str | Path) -> list[Site]:
    """Read and validate a sites TOML file (see module doc).

    Raises:
        ConfigError: missing/unreadable file, invalid TOML, or invalid content.
    """
    p = Path(path)
    return parse_sites(read_toml(p, "sites file"), p)
