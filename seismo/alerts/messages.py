"""Bilingual (zh-CN, en-US) alert content: CAP info blocks, e-mail subject, SMS text.

Origin times are given in UTC and in Beijing time (UTC+08:00). Intensities
are GB/T 17742-2020 degrees (Roman numerals) with one-decimal values in the
CAP parameters. Magnitudes flagged as saturated are written as lower bounds
("≥ 6.1 (ML saturated)").
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from seismo.alerts.cap import CapAlert, CapArea, CapInfo, cap_datetime, circle, to_xml
from seismo.alerts.region import felt_radius_km
from seismo.alerts.rules import (
    TSUNAMI_CERTAINTY,
    AlertDecision,
    earthquake_certainty,
    roman,
    severity_from_intensity,
    tsunami_radius_km,
    tsunami_severity,
)
from seismo.alerts.settings import AlertRulesConfig
from seismo.event.intensity import NOT_FELT_TEXT, felt
from seismo.geo import azimuth_deg, distance_km
from seismo.model import Event

BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")
_DIRS_EN = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
_DIRS_ZH = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")


@dataclass(frozen=True)
class Built:
    """A finished message: the CAP model, its XML, an e-mail subject and an SMS text."""

    alert: CapAlert
    xml: str
    subject: str
    text: str


@dataclass(frozen=True)
class Header:
    """The alert-level fields shared by every message kind."""

    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str
    restriction: str | None
    references: tuple[str, ...] = ()
    sender_name: str = ""


def _latlon(lat: float, lon: float) -> str:
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    return f"{abs(lat):.2f}°{ns} {abs(lon):.2f}°{ew}"


def _fmt_utc(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fmt_bjt(t: dt.datetime) -> str:
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def magnitude_text(event: Event, saturated: bool, lang: str) -> str:
    """The magnitude with its type; a lower bound when an ML is saturated ("≥ 6.1 (ML
    saturated)") or was read on P waves only ("ML ≥ 4.2 (P waves only)"). ``saturated``
    (the ML saturation of :func:`seismo.alerts.rules.is_saturated`) applies to an ML
    only: a preferred Ms_BB or Mw is written as it is."""
    m = event.magnitude
    mt = event.magnitude_type or "ML"
    if m is None or not math.isfinite(m):
        if saturated:
            return "未知（记录限幅）" if lang == "zh" else "unknown (records clipped)"
        return "未测定" if lang == "zh" else "not determined"
    if saturated and mt == "ML":
        return f"≥{m:.1f}（{mt}饱和）" if lang == "zh" else f"≥ {m:.1f} ({mt} saturated)"
    if event.magnitude_lower_bound:
        return f"{mt}≥{m:.1f}（仅P波）" if lang == "zh" else f"{mt} ≥ {m:.1f} (P waves only)"
    return f"{mt}{m:.1f}" if lang == "zh" else f"{mt} {m:.1f}"


def _ml_saturated(event: Event, decision: AlertDecision) -> bool:
    """Whether the magnitude the message reports is a saturated ML."""
    return decision.saturated and (event.magnitude_type or "ML") == "ML"


def _tsunami_mag(event: Event, decision: AlertDecision) -> float | None:
    return decision.tsunami_magnitude if decision.tsunami_magnitude is not None else event.magnitude


def _near(event: Event, sites_zh: dict[str, str], lang: str) -> str:
    """ "12 km NE of Futian District" for the nearest site within 100 km (epicentral)."""
    return place_text(event.latitude, event.longitude,
                      [(s.name, s.latitude, s.longitude) for s in event.site_intensities],
                      sites_zh, lang)


def place_text(
    lat: float, lon: float, sites: Sequence[tuple[str, float, float]],
    sites_zh: dict[str, str] | None = None, lang: str = "en",
) -> str:
    """ "12 km NE of Futian District": the nearest of ``sites`` (name, lat, lon in
    degrees) within 100 km of the epicentre; "" when none is that close."""
    sites_zh = sites_zh or {}
    best: tuple[float, str, float] | None = None
    for name, slat, slon in sites:
        d = float(distance_km(slat, slon, lat, lon))
        if best is None or d < best[0]:
            az = float(azimuth_deg(slat, slon, lat, lon))
            best = (d, name, az)
    if best is None or best[0] > 100.0:
        return ""
    d, name, az = best
    k = int(((az + 22.5) % 360) // 45)
    if lang == "zh":
        return f"{sites_zh.get(name, name)}{_DIRS_ZH[k]}{d:.0f}千米"
    return f"{d:.0f} km {_DIRS_EN[k]} of {name}"


def _site_lines(
    event: Event, rules: AlertRulesConfig, sites_zh: dict[str, str], lang: str
) -> list[tuple[str, str, float, float]]:
    """(description, intensity roman, lat, lon) of sites at or above the area threshold."""
    out = []
    sites = sorted(event.site_intensities, key=lambda s: -s.intensity_cn)
    for s in sites:
        if not math.isfinite(s.intensity_cn) or s.intensity_cn < rules.area_min_site_intensity:
            continue
        r = roman(s.intensity_cn)
        if lang == "zh":
            desc = f"{sites_zh.get(s.name, s.name)}：预测烈度{r}度（{s.intensity_cn:.1f}）"
        else:
            desc = f"{s.name}: predicted intensity {r} ({s.intensity_cn:.1f}, GB/T 17742)"
        out.append((desc, r, s.latitude, s.longitude))
    return out


#: CAP ``solution`` parameter: which path made the version (model.Solution).
_SOLUTION_NAME = {"stream": "real-time", "window": "minute-by-minute"}


def depth_text(event: Event, lang: str) -> str:
    """The depth in words: "depth 12 km"; "depth not resolved" when it was fixed (the data
    did not resolve it: a fixed 10 km is no shallow source, issue 23); "depth at least 97
    km (depth phase)" when a depth phase gave it (seismo.event.regional)."""
    z = event.depth_km
    if not math.isfinite(z):
        return "深度未知" if lang == "zh" else "depth unknown"
    if event.depth_fixed:
        return "深度未能测定" if lang == "zh" else "depth not resolved"
    if event.depth_method == "depth phase":
        return (f"深度至少{z:.0f}千米（深度震相）" if lang == "zh"
                else f"depth at least {z:.0f} km (depth phase)")
    return f"深度{z:.0f}千米" if lang == "zh" else f"depth {z:.0f} km"


def _basis(event: Event, lang: str) -> str:
    """How many stations the solution rests on and when it was made."""
    made = event.creation_time
    if lang == "zh":
        how = "实时" if event.solution == "stream" else "逐分钟"
        when = f"，产出于北京时间{_fmt_bjt(made.datetime.replace(tzinfo=dt.UTC))}" if made else ""
        return f"本结果（{how}测定）基于{event.n_stations}个台站、{event.n_phases}个震相{when}。"
    how = "real-time" if event.solution == "stream" else "minute-by-minute"
    when = f", made at {_fmt_utc(made.datetime.replace(tzinfo=dt.UTC))}" if made else ""
    return (f" This {how} solution rests on {event.n_stations} stations "
            f"({event.n_phases} phases){when}.")


def _parameters(event: Event, decision: AlertDecision, kind: str) -> tuple[tuple[str, str], ...]:
    def num(x: float | None, fmt: str) -> str:
        return "unknown" if x is None or not math.isfinite(x) else format(x, fmt)

    def inum(x: float | None) -> str:  # below degree II: "not felt (< II)", never "1.0"
        return num(x, ".1f") if x is None or felt(x) else NOT_FELT_TEXT["en"]

    params = [
        ("event_id", event.id),
        ("event_version", str(event.version)),
        ("origin_time", cap_datetime(event.time)),
        ("latitude", num(event.latitude, ".4f")),
        ("longitude", num(event.longitude, ".4f")),
        ("depth_km", num(event.depth_km, ".1f")),
        ("depth_resolved", "false" if event.depth_fixed else "true"),
        ("magnitude", num(event.magnitude, ".1f")),
        ("magnitude_type", event.magnitude_type or "ML"),
        ("magnitude_saturated", "true" if _ml_saturated(event, decision) else "false"),
        ("magnitude_lower_bound", "true" if event.magnitude_lower_bound else "false"),
        ("magnitudes", "; ".join(
            f"{m.type}{'>=' if m.lower_bound else ' '}{m.value:.1f}"
            + (f" ({m.agency})" if m.agency else "")
            for m in event.magnitudes
        ) or "none"),
        ("max_intensity", inum(event.max_intensity)),
        ("max_predicted_or_observed_intensity", inum(decision.max_intensity)),
        ("intensity_scale", "GB/T 17742-2020"),
        ("n_stations", str(event.n_stations)),
        ("n_phases", str(event.n_phases)),
        ("solution", _SOLUTION_NAME[event.solution]),
        ("solution_time", cap_datetime(event.creation_time) if event.creation_time else "unknown"),
        ("review_status", event.status),
    ]
    if event.flags:  # why the solution is doubtful (docs/consistency.md)
        params.append(("solution_flags", "; ".join(event.flags)))
    if kind == "Tsunami":
        off = {True: "true", False: "false", None: "not evaluated"}[decision.offshore]
        params += [("offshore", off), ("tsunami_criteria_met", str(decision.tsunami).lower())]
        params += [
            ("tsunami_magnitude", num(decision.tsunami_magnitude, ".1f")),
            ("tsunami_magnitude_type", decision.tsunami_magnitude_type or "unknown"),
        ]
        if decision.sea_fraction is not None:
            params.append(("uncertainty_region_sea_fraction", f"{decision.sea_fraction:.2f}"))
    return tuple(params)


def _texts(
    event: Event,
    decision: AlertDecision,
    kind: str,
    rules: AlertRulesConfig,
    sites_zh: dict[str, str],
    network: str,
    lang: str,
) -> tuple[str, str, str]:
    """(headline, description, instruction) in ``lang`` ("zh" or "en")."""
    t = event.time.datetime.replace(tzinfo=dt.UTC)
    mag = magnitude_text(event, decision.saturated, lang)
    if kind == "Tsunami" and decision.tsunami_magnitude_type.endswith(")"):
        # an authoritative magnitude decided: name it and its agency
        tm = decision.tsunami_magnitude
        mag = f"{mag}; {decision.tsunami_magnitude_type} {tm:.1f}" if tm is not None else mag
    near = _near(event, sites_zh, lang)
    pos = _latlon(event.latitude, event.longitude)
    sites = _site_lines(event, rules, sites_zh, lang)
    review = event.status == "confirmed"
    if lang == "zh":
        what = "海啸可能性通报" if kind == "Tsunami" else "地震速报"
        head = f"{what}：{near or pos} {mag}级地震"
        desc = [
            f"{network}{'正式' if review else '自动'}测定：北京时间{_fmt_bjt(t)}"
            f"（{_fmt_utc(t)}），{pos}{'（' + near + '）' if near else ''}发生{mag}级地震，"
            f"震源{depth_text(event, 'zh')}。"
        ]
        if event.max_intensity is not None and math.isfinite(event.max_intensity):
            if felt(event.max_intensity):
                desc.append(f"台站观测最大烈度{roman(event.max_intensity)}度（GB/T 17742-2020）。")
            else:
                desc.append(f"台站观测烈度：{NOT_FELT_TEXT['zh']}（GB/T 17742-2020）。")
        if sites:
            desc.append("预测烈度：" + "；".join(s[0] for s in sites) + "。")
        desc.append(_basis(event, "zh"))
        if _ml_saturated(event, decision):
            desc.append(
                "注意：本地震级已饱和或不可靠（记录限幅或震中远离台网），实际震级可能更大。"
            )
        if kind == "Tsunami":
            desc.append(
                "震中位于海域且震源较浅，可能引发海啸。本系统不计算海浪高度，请结合潮位站观测评估。"
            )
            instr = "请立即评估海啸风险并按预案发布预警。"
        else:
            instr = "请值班人员复核自动结果。" if not review else "请按预案处置。"
        return head, "".join(desc), instr
    what = "Tsunami potential: " if kind == "Tsunami" else ""
    head = f"{what}{mag} earthquake {near or pos}"
    desc = [
        f"{'Reviewed' if review else 'Automatic'} solution of the {network}: origin time "
        f"{_fmt_utc(t)} ({_fmt_bjt(t)} Beijing time), epicentre {pos}"
        f"{' (' + near + ')' if near else ''}, {depth_text(event, 'en')}, magnitude {mag}."
    ]
    if event.max_intensity is not None and math.isfinite(event.max_intensity):
        if felt(event.max_intensity):
            desc.append(
                f" Maximum observed intensity {roman(event.max_intensity)} (GB/T 17742-2020)."
            )
        else:
            desc.append(f" Observed intensity: {NOT_FELT_TEXT['en']} (GB/T 17742-2020).")
    if event.intensity_note:
        desc.append(f" Note: {event.intensity_note}.")
    if sites:
        desc.append(" Predicted intensity: " + "; ".join(s[0] for s in sites) + ".")
    desc.append(_basis(event, "en"))
    if _ml_saturated(event, decision):
        desc.append(
            " Caution: the local magnitude is saturated or unreliable (clipped records or an"
            " epicentre far outside the network); the true magnitude may be much larger."
        )
    if kind == "Tsunami":
        desc.append(
            " Shallow offshore epicentre: tsunami potential. seismo does not model wave"
            " heights; evaluate with tide-gauge observations."
        )
        instr = "Evaluate the tsunami threat now and warn according to the plan."
    else:
        instr = "Duty seismologist: review the automatic solution." if not review else ""
    return head, "".join(desc), instr


def _areas(
    event: Event,
    decision: AlertDecision,
    kind: str,
    rules: AlertRulesConfig,
    sites_zh: dict[str, str],
    lang: str,
) -> tuple[CapArea, ...]:
    if kind == "Tsunami":
        r = tsunami_radius_km(_tsunami_mag(event, decision), _ml_saturated(event, decision))
        desc = (
            f"震中周边{r:.0f}千米海域及沿岸" if lang == "zh"
            else f"Sea and coasts within {r:.0f} km of the epicentre"
        )  # fmt: skip
    else:
        r = felt_radius_km(event.magnitude, event.depth_km)
        desc = (
            f"震中周边有感范围（半径{r:.0f}千米）" if lang == "zh"
            else f"Felt area around the epicentre (radius {r:.0f} km, predicted MMI III)"
        )  # fmt: skip
    areas = [CapArea(desc, (circle(event.latitude, event.longitude, r),))]
    for sdesc, _, lat, lon in _site_lines(event, rules, sites_zh, lang):
        areas.append(CapArea(sdesc, (circle(lat, lon, rules.area_site_radius_km),)))
    return tuple(areas)


def _info(
    event: Event,
    decision: AlertDecision,
    kind: str,
    rules: AlertRulesConfig,
    sites_zh: dict[str, str],
    header: Header,
    lang: str,
) -> CapInfo:
    head, desc, instr = _texts(event, decision, kind, rules, sites_zh, header.sender_name, lang)
    if kind == "Tsunami" and not decision.tsunami:
        # An Update after revision below the criteria: say so, do not keep warning.
        severity, certainty = "Minor", "Unlikely"
        if lang == "zh":
            head = "修正：已不满足海啸可能性条件 — " + head
            instr = "修正后的参数已不满足海啸可能性条件，请据此复核。"
        else:
            head = "Revised: tsunami criteria no longer met — " + head
            instr = "The revised parameters no longer meet the tsunami-potential criteria."
    elif kind == "Tsunami":
        severity = tsunami_severity(_tsunami_mag(event, decision), _ml_saturated(event, decision))
        certainty = TSUNAMI_CERTAINTY
    else:
        severity = severity_from_intensity(decision.max_intensity)
        certainty = earthquake_certainty(event, _ml_saturated(event, decision))
    return CapInfo(
        language="zh-CN" if lang == "zh" else "en-US",
        category="Geo",
        event=("海啸" if kind == "Tsunami" else "地震") if lang == "zh" else kind,
        urgency="Immediate",
        severity=severity,
        certainty=certainty,
        headline=head,
        description=desc,
        instruction=instr,
        sender_name=header.sender_name,
        onset=cap_datetime(event.time),
        parameters=_parameters(event, decision, kind),
        areas=_areas(event, decision, kind, rules, sites_zh, lang),
    )


def _cap_alert(
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


def _prefix(header: Header) -> str:
    tags = []
    if header.status != "Actual":
        tags.append(header.status.upper())
    if header.msg_type != "Alert":
        tags.append(header.msg_type.upper())
    return "".join(f"[{t}]" for t in tags) + (" " if tags else "")


def _sms(event: Event, decision: AlertDecision, kind: str, header: Header) -> str:
    t = event.time.datetime.replace(tzinfo=dt.UTC)
    imax = decision.max_intensity
    if imax is not None and not felt(imax):
        zh_i, en_i = f"，{NOT_FELT_TEXT['zh']}", f", {NOT_FELT_TEXT['en']}"
    else:
        zh_i = f"，最大烈度（观测/预测）{roman(imax)}度" if imax is not None else ""
        en_i = f", max intensity (obs./pred.) {roman(imax)}" if imax is not None else ""
    zh_k = "【海啸可能】" if kind == "Tsunami" else "【地震】"
    en_k = "TSUNAMI POTENTIAL: " if kind == "Tsunami" else ""
    zh = (
        f"{zh_k}北京时间{_fmt_bjt(t)} {_latlon(event.latitude, event.longitude)} "
        f"{magnitude_text(event, decision.saturated, 'zh')}级，{depth_text(event, 'zh')}{zh_i}"
    )
    en = (
        f"{en_k}{magnitude_text(event, decision.saturated, 'en')} quake {_fmt_utc(t)} "
        f"{_latlon(event.latitude, event.longitude)} {depth_text(event, 'en')}{en_i}. "
        f"id {event.id}"
    )
    return f"{_prefix(header)}{zh}\n{en}"


def build_event_message(
    event: Event,
    decision: AlertDecision,
    kind: str,
    header: Header,
    rules: AlertRulesConfig,
    sites_zh: dict[str, str],
) -> Built:
    """An Alert or Update for ``event``; ``kind`` is "Earthquake" or "Tsunami".

    A Tsunami message carries the Tsunami info blocks (zh-CN, en-US) followed by
    the Earthquake blocks, so the tsunami centre also gets the earthquake
    parameters with their (possibly lowered) certainty.
    """
    kinds = ["Tsunami", "Earthquake"] if kind == "Tsunami" else ["Earthquake"]
    infos = tuple(
        _info(event, decision, k, rules, sites_zh, header, lang)
        for k in kinds
        for lang in ("zh", "en")
    )
    alert = _cap_alert(header, infos, incidents=event.id.replace(" ", "_").replace(",", "_"))
    head_en = infos[1].headline
    return Built(
        alert, to_xml(alert), f"{_prefix(header)}{head_en}", _sms(event, decision, kind, header)
    )


def build_cancel_message(event: Event, kind: str, reason: str, header: Header) -> Built:
    """A Cancel of earlier messages about ``event`` (e.g. rejected by the seismologist)."""
    t = event.time.datetime.replace(tzinfo=dt.UTC)
    pos = _latlon(event.latitude, event.longitude)
    r = felt_radius_km(event.magnitude, event.depth_km)
    infos = []
    for lang in ("zh", "en"):
        if lang == "zh":
            what = "地震/海啸" if kind == "Tsunami" else "地震"
            head = f"取消：{_fmt_bjt(t)}（北京时间）{pos}{what}信息"
            desc = f"此前发布的事件{event.id}信息已撤销。原因：{reason}"
            area = CapArea("原通报震中", (circle(event.latitude, event.longitude, r),))
        else:
            head = f"CANCELLED: {kind.lower()} message for {_fmt_utc(t)} at {pos}"
            desc = f"Earlier messages about event {event.id} are withdrawn. Reason: {reason}"
            area = CapArea(
                "Epicentre of the withdrawn message", (circle(event.latitude, event.longitude, r),)
            )
        infos.append(
            CapInfo(
                language="zh-CN" if lang == "zh" else "en-US",
                category="Geo",
                event=("海啸" if kind == "Tsunami" else "地震") if lang == "zh" else kind,
                urgency="Past",
                severity="Minor",
                certainty="Unlikely",
                headline=head,
                description=desc,
                sender_name=header.sender_name,
                parameters=(("event_id", event.id), ("cancel_reason", reason)),
                areas=(area,),
            )
        )
    alert = CapAlert(
        identifier=header.identifier,
        sender=header.sender,
        sent=header.sent,
        status=header.status,
        msg_type="Cancel",
        scope=header.scope,
        restriction=header.restriction if header.scope == "Restricted" else None,
        references=header.references,
        incidents=event.id.replace(" ", "_").replace(",", "_"),
        infos=tuple(infos),
    )
    subject = f"{_prefix(header)}{infos[1].headline}"
    text = f"{_prefix(header)}{infos[0].headline}\n{infos[1].headline}. {reason}"
    return Built(alert, to_xml(alert), subject, text)


def build_notice_message(subject: str, text: str, header: Header, area_desc: str) -> Built:
    """A generic operational notice (e.g. station health change) as CAP category Infra."""
    info = CapInfo(
        language="en-US",
        category="Infra",
        event="Seismic network status",
        urgency="Expected",
        severity="Minor",
        certainty="Observed",
        headline=subject[:160],
        description=text,
        sender_name=header.sender_name,
        areas=(CapArea(area_desc or "seismic network"),),
    )
    alert = _cap_alert(header, (info,))
    return Built(alert, to_xml(alert), f"{_prefix(header)}{subject}", f"{_prefix(header)}{text}")
