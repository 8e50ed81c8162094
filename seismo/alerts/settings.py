"""Settings of the alerts, ``[alerts]``: rules, delivery channels, recipient groups
(sources of every default: docs/alerts.md and seismo/alerts/rules.py).

A channel table is validated by the model its ``kind`` registered
(:class:`seismo.alerts.channels.ChannelConfig`, re-exported here); each kind's model
lives in its own module of :mod:`seismo.alerts.channels`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SerializeAsAny, model_validator

from seismo.alerts.channels import ChannelConfig
from seismo.config.base import (
    PRINTABLE,
    Intensity,
    Magnitude,
    PosInt,
    StrictModel,
    require_order,
)

__all__ = ["AlertRulesConfig", "AlertsConfig", "ChannelConfig"]


class AlertRulesConfig(StrictModel):
    """Alert thresholds. Sources of every default: docs/alerts.md and seismo/alerts/rules.py."""

    # design choice: ML 2.5 is about the threshold of being felt in a city (see docs/alerts.md)
    oncall_min_magnitude: Magnitude = 2.5
    # GB/T 17742-2020 degree III: felt indoors by a few people at rest [3P]
    oncall_min_intensity: Intensity = 3.0
    # design choice: a located event in the region without ML or intensity (missing
    # responses) goes to on-call; an event with no magnitude is still an event
    oncall_unmeasured: bool = True
    # JMA NWPTAC advises for M >= 6.5 in its area incl. the South China Sea [V]
    tsunami_min_magnitude: Magnitude = 6.5
    # JMA NWPTAC: no tsunami potential for depth >= 100 km [V]
    tsunami_max_depth_km: Annotated[float, Field(gt=0, le=700)] = 100.0
    # design choice: an ML >= 5.5 read on P waves only or with clipped records is a lower
    # bound; before a moment-type magnitude exists, an offshore ML >= 5.5 informs the
    # tsunami centre ("magnitude being determined", severity Unknown; seismo/alerts/rules.py)
    saturation_magnitude: Magnitude = 5.5
    saturation_min_clipped_stations: PosInt = 3
    # design choice: the offshore test also probes the epicentre's uncertainty circle (capped)
    offshore_uncertainty_max_km: Annotated[float, Field(ge=0, le=1000)] = 30.0
    # the whole uncertainty region counts beyond this 90 % semi-major axis (km) or with a
    # fixed depth; offshore when this share of it is sea (design choices, docs/alerts.md)
    offshore_region_min_km: Annotated[float, Field(gt=0, le=1000)] = 30.0
    offshore_min_sea_fraction: Annotated[float, Field(gt=0, le=1)] = 0.25
    # Update thresholds (issue "Alerts"): |dML| >= 0.3 or hypocentre moved >= 10 km
    update_min_magnitude_change: Annotated[float, Field(gt=0, le=2)] = 0.3
    update_min_location_change_km: Annotated[float, Field(gt=0, le=1000)] = 10.0
    # hysteresis (docs/alerts.md, "Updates"): a change for the worse is sent at once; a
    # lower intensity degree, a smaller magnitude or a tsunami decision withdrawn only when
    # it has held this long (s) or a complete solution (every station) or a review says so.
    # Design choice: longer than the first seconds in which a real-time solution gains its
    # farther stations, shorter than the minute-by-minute pass that settles it anyway.
    update_downgrade_hold_s: Annotated[float, Field(ge=0, le=3600)] = 60.0
    # one CAP <area> per site whose predicted intensity reaches this (GB/T 17742 degree III)
    area_min_site_intensity: Intensity = 3.0
    area_site_radius_km: Annotated[float, Field(ge=0, le=1000)] = 5.0


class AlertsConfig(StrictModel):
    enabled: bool = True
    # CAP 1.2 3.2.1: sender and identifier without spaces, commas or restricted characters
    # (< &): one such character makes every message invalid, i.e. switches alerting off
    sender: Annotated[str, Field(min_length=1, pattern=r"^[^\s,<&]+$")] = \
        "seismo@example.invalid"
    outbox_dir: Path = Path("../var/outbox")
    # at least a minute: an item must live long enough for its first attempts (design choice;
    # expire_s = 0.001 sent every alert to dead/ without one attempt)
    expire_s: Annotated[float, Field(ge=60, le=7 * 86400)] = 3600.0
    backoff_initial_s: Annotated[float, Field(gt=0, le=3600)] = 2.0
    backoff_max_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    rules: AlertRulesConfig = Field(default_factory=AlertRulesConfig)
    channels: dict[str, SerializeAsAny[ChannelConfig]] = Field(
        default_factory=dict,
        description="Delivery channels by name; each table's 'kind' chooses the model that "
        "validates it (seismo.alerts.channels)",
    )
    groups: dict[str, list[str]] = Field(
        default_factory=dict, description="Recipient group -> channel names"
    )
    public_groups: list[str] = Field(
        default_factory=list, description="Groups whose CAP scope is Public (else Restricted)"
    )
    restriction: str = Field(
        "seismic network duty staff and designated agencies only", pattern=PRINTABLE,
        description="CAP <restriction> text for Restricted messages",
    )
    contact: str = Field(
        "seismic network duty office", min_length=1, pattern=PRINTABLE,
        description="CAP <contact>: who a recipient calls about a message",
    )
    info_expires_s: Annotated[float, Field(ge=600, le=7 * 86400)] = Field(
        21600.0, description="CAP <expires>: a message's information holds this long after "
        "it was sent (s); design choice: six hours, the span of a tsunami's crossing of the "
        "South China Sea and of an aftershock sequence's first hours")

    @model_validator(mode="after")
    def _groups_known(self) -> AlertsConfig:
        require_order(self, "expire_s", "must exceed", "backoff_initial_s",
                      ": an item would expire before its first retry")
        require_order(self, "backoff_initial_s", "exceeds", "backoff_max_s")
        for group, names in self.groups.items():
            for name in names:
                if name not in self.channels:
                    raise ValueError(f"group '{group}' names unknown channel '{name}'")
        return self
