"""Place names for messages, offline: the city's districts near home, named sea areas and
Flinn-Engdahl regions beyond (no lookup leaves the machine).

* **Near home** (within ``near_km`` of a configured district, ``config/sites.toml`` sites
  of kind ``district``; other sites when there is no district): "12 km NE of Futian
  District" / "福田区东北12千米"; within 3 km just the district's name.
* **Beyond**: the Flinn-Engdahl region of the epicentre (Young et al. 1996, the 1995
  revision; ObsPy's ``obspy.geodetics.flinnengdahl``), with a Chinese name for the
  regions around the South China Sea, and before it the named sea area the epicentre
  lies in (:data:`SEA_AREAS`): "South China Sea (Philippine Islands region)" /
  "南海（菲律宾群岛地区）".

The sea areas are simplified polygons after the limits of the IHO's "Limits of Oceans and
Seas" (S-23, 3rd ed., 1953): a handful of corner points each, good to some tens of km at
their edges, which is enough to name where an offshore epicentre lies (the location itself
is uncertain by as much; docs/alerts.md). The first polygon that holds the point wins, so
the narrower areas come first.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from seismo.geo import azimuth_deg, distance_km

_DIRS_EN = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
_DIRS_ZH = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")

#: Within this distance (km) of a district an epicentre is named after it. Design choice:
#: about the size of the city; beyond it a regional name says more than "80 km E of ...".
NEAR_KM = 50.0
#: Within this distance (km) the district's own name is enough.
AT_KM = 3.0


@dataclass(frozen=True)
class Place:
    """A place name in English and Chinese."""

    en: str
    zh: str


@dataclass(frozen=True)
class NamedSite:
    """A named point (a district or facility of ``config/sites.toml``), degrees."""

    name: str
    name_zh: str
    kind: str
    latitude: float
    longitude: float


#: (English, Chinese, polygon [(lon, lat), ...]) after IHO S-23 (1953), simplified.
SEA_AREAS: tuple[tuple[str, str, tuple[tuple[float, float], ...]], ...] = (
    ("Pearl River Estuary", "珠江口",
     ((113.55, 22.75), (113.95, 22.45), (114.30, 21.90), (113.20, 21.90), (113.40, 22.40))),
    ("Gulf of Tonkin", "北部湾",
     ((105.7, 21.6), (109.8, 21.7), (109.7, 20.3), (109.1, 18.3), (106.3, 17.2))),
    ("Qiongzhou Strait", "琼州海峡",
     ((109.7, 20.45), (111.0, 20.45), (111.0, 19.95), (109.7, 19.95))),
    ("Taiwan Strait", "台湾海峡",
     ((117.1, 23.4), (119.8, 25.5), (121.55, 25.3), (120.85, 21.9))),
    ("Luzon Strait", "吕宋海峡",
     ((120.85, 21.9), (122.2, 21.9), (122.3, 18.6), (120.6, 18.5))),
    ("South China Sea", "南海",
     ((105.7, 21.6), (109.8, 21.7), (113.0, 22.0), (117.1, 23.4), (120.85, 21.9),
      (120.6, 18.5), (120.0, 14.0), (119.5, 10.5), (117.2, 7.0), (110.0, 2.5),
      (104.3, 1.2), (103.5, 10.3), (106.3, 17.2))),
    ("East China Sea", "东海",
     ((121.55, 25.3), (121.9, 31.0), (126.0, 33.2), (129.8, 31.0), (127.5, 26.5),
      (123.0, 24.3))),
    ("Philippine Sea", "菲律宾海",
     ((122.3, 18.6), (122.2, 21.9), (123.0, 24.3), (127.5, 26.5), (131.5, 33.0),
      (140.0, 35.0), (145.0, 20.0), (136.0, 6.0), (126.5, 6.0), (124.5, 12.5))),
)

#: Chinese names of the Flinn-Engdahl regions around the South China Sea.
FE_ZH = {
    "SOUTHEASTERN CHINA": "中国东南部",
    "NEAR COAST OF SOUTHEASTERN CHINA": "中国东南沿海",
    "OFF COAST OF EASTERN CHINA": "中国东部近海",
    "HAINAN ISLAND, CHINA": "中国海南岛",
    "TAIWAN": "台湾",
    "TAIWAN REGION": "台湾地区",
    "NORTHEAST OF TAIWAN": "台湾东北",
    "SOUTHEAST OF TAIWAN": "台湾东南",
    "SOUTH CHINA SEA": "南海",
    "PHILIPPINE ISLANDS REGION": "菲律宾群岛地区",
    "LUZON, PHILIPPINES": "菲律宾吕宋岛",
    "MINDORO, PHILIPPINES": "菲律宾民都洛岛",
    "PALAWAN, PHILIPPINES": "菲律宾巴拉望岛",
    "PHILIPPINE SEA": "菲律宾海",
    "EAST OF PHILIPPINE ISLANDS": "菲律宾群岛以东",
    "SULU SEA": "苏禄海",
    "GULF OF TONGKING": "北部湾",
    "VIETNAM": "越南",
    "LAOS": "老挝",
    "YUNNAN, CHINA": "中国云南",
    "SICHUAN, CHINA": "中国四川",
    "RYUKYU ISLANDS, JAPAN": "日本琉球群岛",
    "SOUTHWESTERN RYUKYU ISL., JAPAN": "日本琉球群岛西南部",
    "NORTHWEST OF RYUKYU ISLANDS": "琉球群岛西北",
    "SOUTHEAST OF RYUKYU ISLANDS": "琉球群岛东南",
    "BORNEO": "加里曼丹岛",
    "YELLOW SEA": "黄海",
}


def _inside(lon: float, lat: float, poly: Sequence[tuple[float, float]]) -> bool:
    """Ray casting (even-odd rule) for a small lon/lat polygon (no date line)."""
    inside = False
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        if (y1 > lat) != (y2 > lat):
            x = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x:
                inside = not inside
    return inside


def sea_area(lat: float, lon: float) -> Place | None:
    """The named sea area (:data:`SEA_AREAS`) holding the point, or None."""
    for en, zh, poly in SEA_AREAS:
        if _inside(lon, lat, poly):
            return Place(en, zh)
    return None


@functools.lru_cache(maxsize=1)
def _fe():  # type: ignore[no-untyped-def]
    from obspy.geodetics.flinnengdahl import FlinnEngdahl  # reads its tables once

    return FlinnEngdahl()


def _title(name: str) -> str:
    """ "NEAR COAST OF SOUTHEASTERN CHINA" -> "near coast of Southeastern China"."""
    words = name.title().replace(" Of ", " of ").replace(" Region", " region")
    for lead in ("Near Coast of ", "Off Coast of ", "Near ", "Off "):
        if words.startswith(lead):
            return lead.lower() + words[len(lead):]
    return words


def fe_region(lat: float, lon: float) -> Place:
    """The Flinn-Engdahl region (English title case, Chinese where known)."""
    name = str(_fe().get_region(lon, lat))
    en = _title(name)
    return Place(en, FE_ZH.get(name, en))


def _direction(az: float) -> int:
    return int(((az + 22.5) % 360) // 45)


def near_site(lat: float, lon: float, sites: Sequence[NamedSite],
              near_km: float = NEAR_KM) -> Place | None:
    """ "12 km NE of Futian District" for the nearest district (any site when none is a
    district) within ``near_km``; None when none is that near."""
    pool = [s for s in sites if s.kind == "district"] or list(sites)
    best: tuple[float, NamedSite] | None = None
    for s in pool:
        d = float(distance_km(s.latitude, s.longitude, lat, lon))
        if best is None or d < best[0]:
            best = (d, s)
    if best is None or best[0] > near_km:
        return None
    d, s = best
    zh_name = s.name_zh or s.name
    if d <= AT_KM:
        return Place(s.name, zh_name)
    k = _direction(float(azimuth_deg(s.latitude, s.longitude, lat, lon)))
    return Place(f"{d:.0f} km {_DIRS_EN[k]} of {s.name}", f"{zh_name}{_DIRS_ZH[k]}{d:.0f}千米")


def place_name(lat: float, lon: float, sites: Sequence[NamedSite] = (),
               near_km: float = NEAR_KM) -> Place:
    """Where the epicentre is, for a headline (module docstring)."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return Place("location unknown", "位置未知")
    near = near_site(lat, lon, sites, near_km)
    if near is not None:
        return near
    fe = fe_region(lat, lon)
    sea = sea_area(lat, lon)
    if sea is None or sea.en.lower() == fe.en.lower():
        return fe
    return Place(f"{sea.en} ({fe.en})", f"{sea.zh}（{fe.zh}）")
