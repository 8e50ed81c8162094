"""OASIS Common Alerting Protocol 1.2: a small typed model, XML output and a validator.

XML is produced with :mod:`xml.etree.ElementTree` in the namespace
``urn:oasis:names:tc:emergency:cap:1.2`` and element order of the CAP 1.2 XML
schema (alert: identifier, sender, sent, status, msgType, scope, restriction,
note, references, incidents, info; info: language, category, event, responseType,
urgency, severity, certainty, onset, expires, senderName, headline, description,
instruction, web, contact, parameter, area; area: areaDesc, circle, geocode). The
tests validate every message against the OASIS XML schema (``CAP-v1.2-schema.xsd``).

Times: CAP ``dateTime`` is ``YYYY-MM-DDThh:mm:ss`` with an explicit offset
(``+00:00``; "Z" is not allowed) and no fractional seconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from obspy import UTCDateTime

from seismo.errors import AlertError

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_MIME = "application/cap+xml"

# Enumerations of CAP 1.2 (OASIS Standard, 1 July 2010, section 3.2).
STATUS = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = (
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
    "Transport", "Infra", "CBRNE", "Other",
)  # fmt: skip
URGENCY = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITY = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTY = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
RESPONSE_TYPES = (
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear",
    "None",
)  # fmt: skip

_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
_FORBIDDEN_ID = re.compile(r"[\s,<&]")
_NUM = r"[-+]?\d+(?:\.\d+)?"
_CIRCLE_RE = re.compile(rf"^({_NUM}),({_NUM})\s+({_NUM})$")


def cap_datetime(t: UTCDateTime | dt.datetime) -> str:
    """CAP dateTime of ``t``: UTC, whole seconds, explicit ``+00:00`` offset."""
    if isinstance(t, UTCDateTime):
        d = t.datetime.replace(tzinfo=dt.UTC)
    else:
        if t.tzinfo is None:
            raise AlertError(f"naive datetime {t!r}: CAP times need a timezone")
        d = t.astimezone(dt.UTC)
    return d.replace(microsecond=0).isoformat()


def safe_token(text: str) -> str:
    """``text`` with characters CAP forbids in identifiers (space, comma, <, &) replaced."""
    return _FORBIDDEN_ID.sub("_", text)


def make_identifier(sender: str, event_id: str, group: str, seq: int, status: str) -> str:
    """Deterministic CAP identifier from sender, event id, group and message sequence number.

    The same inputs always give the same identifier, so a receiver can drop a
    duplicate delivery (see docs/alerts.md, "exactly once"). Non-Actual statuses
    are part of it, so a drill never collides with a real alert.
    """
    parts = [sender, event_id, group, f"v{seq}"]
    if status != "Actual":
        parts.append(status.lower())
    return safe_token(".".join(parts))


def short_hash(text: str, n: int = 10) -> str:
    """First ``n`` hex digits of the SHA-1 of ``text`` (stable file-name suffixes)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


@dataclass(frozen=True)
class CapArea:
    """One ``<area>``: a description, circles "lat,lon radius_km" and geocodes."""

    desc: str
    circles: tuple[str, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()


def circle(lat: float, lon: float, radius_km: float) -> str:
    """CAP circle string "lat,lon radius" (degrees WGS84, radius in km)."""
    return f"{lat:.4f},{lon:.4f} {max(0.0, radius_km):.1f}"


@dataclass(frozen=True)
class CapInfo:
    """One ``<info>`` block (one language)."""

    language: str
    category: str
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str = ""
    description: str = ""
    instruction: str = ""
    sender_name: str = ""
    onset: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[CapArea, ...] = ()
    response_types: tuple[str, ...] = ()
    expires: str | None = None
    web: str | None = None
    contact: str | None = None


@dataclass(frozen=True)
class AlertIdentity:
    """The elements that identify a CAP ``<alert>`` and say what kind it is (CAP 1.2
    section 3.2.1: identifier, sender, sent, status, msgType, scope)."""

    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str


@dataclass(frozen=True)
class CapAlert(AlertIdentity):
    """One CAP ``<alert>``. ``references`` are "sender,identifier,sent" triplets."""

    restriction: str | None = None
    note: str | None = None
    references: tuple[str, ...] = ()
    incidents: str | None = None
    infos: tuple[CapInfo, ...] = ()

    def reference(self) -> str:
        """This message as a CAP reference triplet "sender,identifier,sent"."""
        return f"{self.sender},{self.identifier},{self.sent}"


def _sub(parent: ET.Element, tag: str, text: str | None) -> ET.Element | None:
    if text is None or text == "":
        return None
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    el.text = text
    return el


def to_xml(alert: CapAlert) -> str:
    """Serialise ``alert`` to a CAP 1.2 XML document (UTF-8 declaration, default namespace)."""
    q = f"{{{CAP_NS}}}"
    root = ET.Element(f"{q}alert")
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", alert.sent)
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "scope", alert.scope)
    _sub(root, "restriction", alert.restriction)
    _sub(root, "note", alert.note)
    if alert.references:
        _sub(root, "references", " ".join(alert.references))
    _sub(root, "incidents", alert.incidents)
    for info in alert.infos:
        el = ET.SubElement(root, f"{q}info")
        _sub(el, "language", info.language)
        _sub(el, "category", info.category)
        _sub(el, "event", info.event)
        for rt in info.response_types:
            _sub(el, "responseType", rt)
        _sub(el, "urgency", info.urgency)
        _sub(el, "severity", info.severity)
        _sub(el, "certainty", info.certainty)
        _sub(el, "onset", info.onset)
        _sub(el, "expires", info.expires)
        _sub(el, "senderName", info.sender_name)
        _sub(el, "headline", info.headline)
        _sub(el, "description", info.description)
        _sub(el, "instruction", info.instruction)
        _sub(el, "web", info.web)
        _sub(el, "contact", info.contact)
        for name, value in info.parameters:
            p = ET.SubElement(el, f"{q}parameter")
            _sub(p, "valueName", name)
            _sub(p, "value", value)
        for area in info.areas:
            a = ET.SubElement(el, f"{q}area")
            _sub(a, "areaDesc", area.desc)
            for c in area.circles:
                _sub(a, "circle", c)
            for name, value in area.geocodes:
                g = ET.SubElement(a, f"{q}geocode")
                _sub(g, "valueName", name)
                _sub(g, "value", value)
    body = ET.tostring(root, encoding="unicode", default_namespace=CAP_NS)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


# --------------------------------------------------------------------------- validation
def _text(el: ET.Element, tag: str) -> str | None:
    child = el.find(f"{{{CAP_NS}}}{tag}")
    if child is None:
        return None
    return (child.text or "").strip()


def _check_enum(errors: list[str], where: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is None or value == "":
        errors.append(f"{where} is missing")
    elif value not in allowed:
        errors.append(f"{where} {value!r} is not one of {', '.join(allowed)}")


def _check_datetime(errors: list[str], where: str, value: str | None) -> None:
    if value is not None and not _DATETIME_RE.match(value):
        errors.append(f"{where} {value!r} is not YYYY-MM-DDThh:mm:ss with an explicit offset")
        return
    if value is not None:
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            errors.append(f"{where} {value!r} is not a valid date/time")


def _check_circle(errors: list[str], where: str, value: str) -> None:
    m = _CIRCLE_RE.match(value.strip())
    if not m:
        errors.append(f"{where} {value!r} is not 'lat,lon radius'")
        return
    lat, lon, radius = (float(g) for g in m.groups())
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and radius >= 0):
        errors.append(f"{where} {value!r} is out of range")


def validate_cap(xml: str | bytes) -> list[str]:
    """Check a CAP 1.2 document; return the problems found (empty list: valid).

    Checks the namespace, the required elements of alert, info and area, the
    enumerations (status, msgType, scope, category, urgency, severity,
    certainty), dateTime format (explicit offset, no fractions) of sent, onset,
    effective, expires and of the references, identifier/sender characters,
    restriction for Restricted scope, references for Update/Cancel, circle
    syntax and parameter/geocode pairs. It is not a full XML-schema validation
    (element order is not checked).
    """
    errors: list[str] = []
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    if root.tag != f"{{{CAP_NS}}}alert":
        return [f"root element is {root.tag!r}, expected {{{CAP_NS}}}alert"]
    for tag in ("identifier", "sender"):
        v = _text(root, tag)
        if not v:
            errors.append(f"alert/{tag} is missing")
        elif _FORBIDDEN_ID.search(v):
            errors.append(f"alert/{tag} {v!r} contains a space, comma, < or &")
    sent = _text(root, "sent")
    if not sent:
        errors.append("alert/sent is missing")
    else:
        _check_datetime(errors, "alert/sent", sent)
    _check_enum(errors, "alert/status", _text(root, "status"), STATUS)
    msg_type = _text(root, "msgType")
    _check_enum(errors, "alert/msgType", msg_type, MSG_TYPES)
    scope = _text(root, "scope")
    _check_enum(errors, "alert/scope", scope, SCOPES)
    if scope == "Restricted" and not _text(root, "restriction"):
        errors.append("alert/restriction is required when scope is Restricted")
    if scope == "Private" and not _text(root, "addresses"):
        errors.append("alert/addresses is required when scope is Private")
    refs = _text(root, "references")
    if msg_type in ("Update", "Cancel", "Ack", "Error") and not refs:
        errors.append(f"alert/references is required for msgType {msg_type}")
    for ref in (refs or "").split():
        parts = ref.split(",")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            errors.append(f"alert/references entry {ref!r} is not 'sender,identifier,sent'")
        else:
            _check_datetime(errors, "alert/references sent", parts[2])
    infos = root.findall(f"{{{CAP_NS}}}info")
    for i, info in enumerate(infos):
        w = f"info[{i}]"
        cats = [(c.text or "").strip() for c in info.findall(f"{{{CAP_NS}}}category")]
        if not cats:
            errors.append(f"{w}/category is missing")
        for c in cats:
            _check_enum(errors, f"{w}/category", c, CATEGORIES)
        if not _text(info, "event"):
            errors.append(f"{w}/event is missing")
        _check_enum(errors, f"{w}/urgency", _text(info, "urgency"), URGENCY)
        _check_enum(errors, f"{w}/severity", _text(info, "severity"), SEVERITY)
        _check_enum(errors, f"{w}/certainty", _text(info, "certainty"), CERTAINTY)
        for rt in info.findall(f"{{{CAP_NS}}}responseType"):
            _check_enum(errors, f"{w}/responseType", (rt.text or "").strip(), RESPONSE_TYPES)
        for tag in ("effective", "onset", "expires"):
            _check_datetime(errors, f"{w}/{tag}", _text(info, tag))
        for j, p in enumerate(info.findall(f"{{{CAP_NS}}}parameter")):
            if not _text(p, "valueName") or _text(p, "value") is None:
                errors.append(f"{w}/parameter[{j}] needs valueName and value")
        for j, area in enumerate(info.findall(f"{{{CAP_NS}}}area")):
            if not _text(area, "areaDesc"):
                errors.append(f"{w}/area[{j}]/areaDesc is missing")
            for circ in area.findall(f"{{{CAP_NS}}}circle"):
                _check_circle(errors, f"{w}/area[{j}]/circle", circ.text or "")
            for g in area.findall(f"{{{CAP_NS}}}geocode"):
                if not _text(g, "valueName") or _text(g, "value") is None:
                    errors.append(f"{w}/area[{j}]/geocode needs valueName and value")
    return errors
