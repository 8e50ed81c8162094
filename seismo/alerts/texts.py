"""What every message kind shares: the header, the finished message, the service's context,
and the formatting of times, coordinates and uncertainties (:mod:`seismo.alerts.messages`
for an event's Alert and Update, :mod:`seismo.alerts.notices` for Cancels and notices)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from seismo.alerts.cap import AlertIdentity, CapAlert, CapInfo, cap_datetime
from seismo.alerts.gazetteer import NamedSite
from seismo.alerts.settings import AlertRulesConfig
from seismo.model import Event

BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")


@dataclass(frozen=True)
class Built:
    """A finished message: the CAP model, its XML, an e-mail subject and an SMS text."""

    alert: CapAlert
    xml: str
    subject: str
    text: str


@dataclass(frozen=True)
class Header(AlertIdentity):
    """The alert-level fields shared by every message kind."""

    restriction: str | None
    references: tuple[str, ...] = ()
    sender_name: str = ""


@dataclass(frozen=True)
class Context:
    """What every message of one service shares: the rules, the gazetteer's sites, the
    contact, the console's base URL (``web``: the event page is ``<web>/events/<id>``)
    and how long a message's information holds (``expires_s``)."""

    rules: AlertRulesConfig
    sites: tuple[NamedSite, ...] = ()
    contact: str = ""
    web: str = ""
    expires_s: float = 21600.0
    network_zh: str = ""

    def event_url(self, event_id: str) -> str | None:
        return f"{self.web.rstrip('/')}/events/{event_id}" if self.web else None


@dataclass(frozen=True)
class Progress:
    """Where a message stands in its thread: ``final`` (an Update that announces the
    complete solution), ``tsunami_radius_km`` (the tsunami area, never shrinking while
    the magnitude grows; None: computed from the magnitude)."""

    final: bool = False
    tsunami_radius_km: float | None = None


# --------------------------------------------------------------------------- formatting
def digits(unc_km: float | None) -> int:
    """Decimals of a coordinate that the location uncertainty supports (0.01° ~ 1 km)."""
    if unc_km is None:
        return 2
    return 3 if unc_km < 1.0 else 2 if unc_km < 10.0 else 1 if unc_km < 100.0 else 0


def latlon(lat: float, lon: float, unc_km: float | None = None) -> str:
    d = digits(unc_km)
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    return f"{abs(lat):.{d}f}°{ns} {abs(lon):.{d}f}°{ew}"


def fmt_utc(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_bjt(t: dt.datetime) -> str:
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def finite_or_none(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def location_uncertainty_km(event: Event) -> tuple[float | None, str]:
    """(radius km, "90 %" or "1σ") of the epicentre: the 90 % ellipse's semi-major axis,
    else the 1-sigma horizontal uncertainty."""
    a90 = finite_or_none(event.ellipse_90_major_km)
    if a90 is not None:
        return a90, "90 %"
    h = finite_or_none(event.horizontal_uncertainty_km)
    return (h, "1σ") if h is not None else (None, "")


def expires(header: Header, ctx: Context) -> str:
    sent = dt.datetime.fromisoformat(header.sent)
    return cap_datetime(sent + dt.timedelta(seconds=ctx.expires_s))


def cap_alert(
    header: Header, infos: tuple[CapInfo, ...], *, incidents: str | None = None
) -> CapAlert:
    """The CAP alert element of ``header`` with ``infos`` (restriction only when the
    scope is Restricted, CAP 1.2 section 3.2.1)."""
    return CapAlert(
        identifier=header.identifier,
        sender=header.sender,
        sent=header.sent,
        status=header.status,
        msg_type=header.msg_type,
        scope=header.scope,
        restriction=header.restriction if header.scope == "Restricted" else None,
        references=header.references,
        incidents=incidents,
        infos=infos,
    )


def prefix(header: Header) -> str:
    tags = []
    if header.status != "Actual":
        tags.append(header.status.upper())
    if header.msg_type != "Alert":
        tags.append(header.msg_type.upper())
    return "".join(f"[{t}]" for t in tags) + (" " if tags else "")


