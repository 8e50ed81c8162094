"""PyOcto (Münchmeyer 2024) on seismo's picks, for the associator comparison.

PyOcto is not a dependency of seismo: its wheel for Python 3.11 requires numpy < 2, and
the project runs numpy 2 (requirements.lock). Install it beside the venv, without its
dependency pins, to run the comparison::

    pip install --no-deps --target /tmp/pyocto pyocto==0.2.2 pyproj
    PYTHONPATH=/tmp/pyocto python benchmarks/scoreboard.py

(pandas comes with the project's venv; PyOcto's compiled core works with numpy 2 here.)

Same inputs as seismo's associator: the picks of seismo's picker, the 1-D model of
the configuration (its travel-time tables are written in PyOcto's binary table
format: ``struct("iid", nx, nz, delta)`` then the P and S times on the (distance,
depth) grid, as ``VelocityModel1D.create_model`` writes them; we fill them from
:class:`seismo.event.velocity.VelocityModel` instead of PyOcto's eikonal solver, so
both associators use identical travel times). The same minimum counts as seismo's
``[associate]`` (stations, phases) and the same residual cap. PyOcto's events are
then located by seismo's locator on the picks PyOcto assigned (its own locations
are "preliminary" in its documentation), so the comparison isolates association.
"""

from __future__ import annotations

import logging
import struct
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seismo.config import Settings
from seismo.errors import LocationError
from seismo.event.locate import locate
from seismo.event.velocity import VelocityModel
from seismo.inventory import StationInfo
from seismo.io.catalog import CatalogEvent
from seismo.model import Pick

log = logging.getLogger(__name__)


def available() -> bool:
    try:
        import pyocto  # noqa: F401
    except ImportError:
        return False
    return True


def write_table(model: VelocityModel, path: Path, xdist: float, zdist: float,
                delta: float = 1.0) -> Path:
    """seismo's first-arrival times in PyOcto's ``VelocityModel1D`` table format."""
    nx, nz = int(xdist / delta) + 1, int(zdist / delta) + 1
    x = np.arange(nx) * delta
    z = np.arange(nz) * delta
    xx, zz = np.meshgrid(x, z, indexing="ij")
    with open(path, "wb") as f:
        f.write(struct.pack("iid", nx, nz, delta))
        for ph in ("P", "S"):
            f.write(np.ascontiguousarray(model.travel_time(ph, xx, zz), dtype=np.float64).tobytes())
    return path


def associate_pyocto(
    picks: Sequence[Pick],
    stations: dict[str, StationInfo],
    model: VelocityModel,
    settings: Settings,
    workdir: Path | None = None,
) -> list[list[Pick]]:
    """Groups of picks (one event each) that PyOcto associates."""
    import pandas as pd
    import pyocto

    a = settings.associate
    used = {p.station_id for p in picks}
    sta = [s for k, s in stations.items() if k in used] or list(stations.values())
    sdf = pd.DataFrame({
        "id": [s.id for s in sta],
        "latitude": [s.latitude for s in sta],
        "longitude": [s.longitude for s in sta],
        "elevation": [s.elevation_m for s in sta],
    })
    lat0, lat1 = sdf["latitude"].min(), sdf["latitude"].max()
    lon0, lon1 = sdf["longitude"].min(), sdf["longitude"].max()
    # the search area: the network plus the association grid's margin (seismo's inner grid)
    pad = a.grid_margin_km / 111.0
    padlon = pad / max(np.cos(np.radians((lat0 + lat1) / 2)), 0.1)
    tmp = Path(workdir or tempfile.mkdtemp(prefix="pyocto-"))
    span = 2 * (max(lat1 - lat0, lon1 - lon0) * 111.0 + 2 * a.grid_margin_km)
    table = write_table(model, tmp / "model.bin", xdist=max(span, 100.0),
                        zdist=min(settings.locate.depth_max_km + 10, model.max_depth_km))
    vm = pyocto.VelocityModel1D(str(table), tolerance=a.max_residual_s,
                                surface_p_velocity=model.velocity_at(0.0, "P"),
                                surface_s_velocity=model.velocity_at(0.0, "S"))
    t_net = float(model.travel_time("S", span / 2, 10.0))
    assoc = pyocto.OctoAssociator.from_area(
        lat=(lat0 - pad, lat1 + pad), lon=(lon0 - padlon, lon1 + padlon),
        zlim=(0.0, settings.locate.depth_max_km), velocity_model=vm, time_before=t_net,
        n_picks=a.min_phases, n_p_picks=max(1, a.min_p_phases), n_s_picks=0, n_p_and_s_picks=0,
        pick_match_tolerance=a.max_residual_s, n_threads=1,
    )
    assoc.transform_stations(sdf)
    pdf = pd.DataFrame({
        "station": [p.station_id for p in picks],
        "phase": [p.phase for p in picks],
        "time": [float(p.time.timestamp) for p in picks],
    })
    events, assignments = assoc.associate(pdf, sdf)
    groups: list[list[Pick]] = []
    if len(events) == 0:
        return groups
    for _, rows in assignments.groupby("event_idx"):
        grp = [picks[int(i)] for i in rows["pick_idx"]]
        if len({p.station_id for p in grp}) >= a.min_stations:
            groups.append(grp)
    return groups


def locate_groups(
    groups: Sequence[Sequence[Pick]], stations: dict[str, StationInfo], model: VelocityModel,
    settings: Settings,
) -> list[CatalogEvent]:
    """Each group located by seismo's locator (magnitude not computed)."""
    from seismo.shells.evaluate import pick_record

    out = []
    for g in groups:
        try:
            o = locate(list(g), stations, model, settings.locate)
        except LocationError as exc:
            log.info("PyOcto group not located: %s", exc)
            continue
        out.append(CatalogEvent(
            time=o.time, latitude=o.latitude, longitude=o.longitude, depth_km=o.depth_km,
            id=f"pyocto{len(out):03d}", picks=tuple(pick_record(p) for p in o.picks),
            depth_fixed=o.depth_fixed,
        ))
    return out


def run(picks: Sequence[Pick], stations: dict[str, StationInfo], model: VelocityModel,
        settings: Settings) -> tuple[list[CatalogEvent], float]:
    """PyOcto association + seismo location; (events, association wall time s)."""
    import time

    t0 = time.perf_counter()
    groups = associate_pyocto(picks, stations, model, settings)
    wall = time.perf_counter() - t0
    return locate_groups(groups, stations, model, settings), wall


