"""Bilingual (zh-CN, en-US) alert content: CAP info blocks, e-mail subject, SMS text.

What a duty officer reads (docs/alerts.md, "What a message says"):

* **one document, one audience, one severity**: an on-call message carries Earthquake
  blocks, a tsunami message Tsunami blocks (each with the earthquake's parameters in
  words and as parameters), in zh-CN and en-US;
* **a headline with a magnitude**, its type named ("ML 3.1", "Mwp 7.2", "Mpd 3.4"), or
  "magnitude being determined" (震级测定中) in words, and the place: the district near
  home or the sea area and Flinn-Engdahl region beyond (:mod:`seismo.alerts.gazetteer`);
* **one notation per quantity** (:mod:`seismo.alerts.notation`): intensity as "GB/T 17742
  IV" (Roman degree and scale), km, UTC and Beijing time;
* **the uncertainties**: epicentre (90 % ellipse), depth (or "depth not resolved"),
  magnitude, the number of stations, coordinates rounded to what the location supports;
* ``responseType``, ``expires``, ``web`` (the console's event page) and ``contact``;
* whether the solution is preliminary (real-time), complete (every station, the
  minute-by-minute pass), final (an Update that says the complete pass confirms the
  solution) or reviewed by a seismologist;
* no internal words: flags of the solution are said in plain words.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from seismo.alerts.cap import CapArea, CapInfo, cap_datetime, circle, to_xml
from seismo.alerts.gazetteer import NamedSite, Place, place_name
from seismo.alerts.notation import MAG_PENDING, intensity_text, km
from seismo.alerts.region import felt_radius_km
from seismo.alerts.rules import (
    TSUNAMI_CERTAINTY,
    AlertDecision,
    earthquake_certainty,
    intensity_degree,
    severity_from_intensity,
    tsunami_radius_km,
)
from seismo.alerts.settings import AlertRulesConfig
from seismo.alerts.texts import (
    Built,
    Context,
    Header,
    Progress,
    cap_alert,
    digits,
    expires,
    fmt_bjt,
    fmt_utc,
    latlon,
    location_uncertainty_km,
    prefix,
)
from seismo.alerts.texts import finite_or_none as _f
from seismo.model import Event

__all__ = [
    "Built", "Context", "Header", "Notice", "Progress", "build_cancel_message",
    "build_event_message", "build_notice_message", "magnitude_text", "tsunami_area_km",
]


# --------------------------------------------------------------------------- small pieces
def _ml_saturated(event: Event, decision: AlertDecision) -> bool:
    """Whether the magnitude the message reports is a saturated ML."""
    return decision.saturated and (event.magnitude_type or "ML") == "ML"


def _lower_bound(event: Event, decision: AlertDecision) -> bool:
    """Whether the magnitude shown is only a lower bound (saturated ML or P waves only)."""
    return _f(event.magnitude) is not None and (
        _ml_saturated(event, decision) or event.magnitude_lower_bound)


def magnitude_text(event: Event, saturated: bool, lang: str) -> str:
    """The magnitude with its type, a lower bound with the reason ("≥ 6.1 (ML saturated)",
    "ML ≥ 4.2 (P waves only)"), or "magnitude being determined" (震级测定中). ``saturated``
    (:func:`seismo.alerts.rules.is_saturated`) applies to an ML only; any other type
    (Ms_BB, Mwp, Mwpd, Mpd, Mww, ...) is written as it is named."""
    m = _f(event.magnitude)
    mt = event.magnitude_type or "ML"
    if m is None:
        return MAG_PENDING[lang]
    if saturated and mt == "ML":
        return f"{mt}≥{m:.1f}（饱和）" if lang == "zh" else f"{mt} ≥ {m:.1f} (saturated)"
    if event.magnitude_lower_bound:
        return f"{mt}≥{m:.1f}（仅P波）" if lang == "zh" else f"{mt} ≥ {m:.1f} (P waves only)"
    unc = _f(event.magnitude_uncertainty)
    if lang == "zh":
        return f"{mt}{m:.1f}"
    return f"{mt} {m:.1f}" + (f" ± {unc:.1f}" if unc is not None and unc >= 0.05 else "")


def _short_mag(event: Event, decision: AlertDecision, lang: str) -> str:
    """The magnitude for a headline: no ± and no reason, "≥" kept."""
    m = _f(event.magnitude)
    mt = event.magnitude_type or "ML"
    if m is None:
        return MAG_PENDING[lang]
    ge = "≥" if _lower_bound(event, decision) else ""
    return f"{mt}{ge}{m:.1f}" if lang == "zh" else f"{mt} {ge + ' ' if ge else ''}{m:.1f}"


def tsunami_area_km(event: Event, decision: AlertDecision) -> float:
    """The tsunami area's radius for this version alone (the thread keeps it from
    shrinking, :class:`Progress`)."""
    return tsunami_radius_km(decision.tsunami_magnitude,
                             decision.tsunami_pending or _ml_saturated(event, decision))


def solution_status(event: Event, final: bool) -> str:
    """preliminary (the real-time solution), complete (the minute-by-minute pass over every
    station), final (the complete pass confirms the solution), reviewed (a seismologist)."""
    if event.status == "confirmed":
        return "reviewed"
    if final:
        return "final"
    return "preliminary" if event.solution == "stream" else "complete"


_STATUS_WORDS = {
    "reviewed": ("经地震分析人员审核的正式结果", "solution reviewed by a seismologist"),
    "final": ("自动测定最终结果（全部台站数据，逐分钟处理已复核）",
              "reviewed automatic solution, final (every station's data, checked by the "
              "minute-by-minute pass)"),
    "complete": ("逐分钟处理自动测定结果", "automatic solution of the minute-by-minute pass"),
    "preliminary": ("实时自动测定初步结果", "preliminary real-time automatic solution"),
}


def _flags(event: Event, lang: str, depth: bool = True) -> list[str]:
    """The solution's caveats in plain words: depth not resolved (``depth``), outside the
    network, and any flag the solution carries (``Event.flags`` when present)."""
    out = []
    if event.depth_fixed and depth:
        out.append("震源深度未能测定" if lang == "zh" else "depth not resolved")
    if event.outside_network:
        out.append("震中位于台网外，位置误差较大" if lang == "zh" else
                   "epicentre outside the network: location less certain")
    for flag in getattr(event, "flags", ()) or ():
        words = str(flag).replace("_", " ").strip()
        if words:
            out.append(words)
    return out


def _site_areas(event: Event, rules: AlertRulesConfig,
                sites: Sequence[NamedSite]) -> list[tuple[str, str, float, float, float]]:
    """(name, name_zh, intensity, lat, lon) of sites at or above the area threshold."""
    zh = {s.name: s.name_zh or s.name for s in sites}
    out = []
    for s in sorted(event.site_intensities, key=lambda s: -s.intensity_cn):
        if math.isfinite(s.intensity_cn) and s.intensity_cn >= rules.area_min_site_intensity:
            out.append((s.name, zh.get(s.name, s.name), s.intensity_cn, s.latitude, s.longitude))
    return out


def depth_text(event: Event, lang: str) -> str:
    """The depth clause of a description: "depth 12 km ± 3 km" (深度12千米±3千米); "depth not
    resolved" when it was fixed (the data did not resolve it: a fixed 10 km is no shallow
    source, issue 23); "depth at least 97 km (depth phase)" when a depth phase gave it
    (seismo.event.depthphase)."""
    if event.depth_fixed:
        return "深度未能测定" if lang == "zh" else "depth not resolved"
    z = km(event.depth_km)
    if event.depth_method == "depth phase":
        return (f"深度至少{z}千米（深度震相）" if lang == "zh"
                else f"depth at least {z} km (depth phase)")
    zunc = _f(event.vertical_uncertainty_km)
    if lang == "zh":
        return f"深度{z}千米" + (f"±{zunc:.0f}千米" if zunc is not None else "")
    return f"depth {z} km" + (f" ± {zunc:.0f} km" if zunc is not None else "")


def _prediction_caveat(event: Event, lang: str) -> str:
    """Why the predicted intensity exceeds the observed one by a degree or more, in words."""
    obs = _f(event.max_intensity)
    pred = max((s.intensity_cn for s in event.site_intensities
                if math.isfinite(s.intensity_cn)), default=None)
    if obs is None or pred is None or intensity_degree(pred) <= intensity_degree(obs):
        return ""
    near_station = min((s.epi_distance_km for s in event.station_intensities
                        if math.isfinite(s.epi_distance_km)), default=math.inf)
    top = max(event.site_intensities, key=lambda s: s.intensity_cn)
    nearer = top.distance_km < near_station
    if lang == "zh":
        return ("预测烈度高于台站观测：该地点比所有台站更靠近震中。" if nearer else
                "预测烈度高于台站观测，预测仅供参考，以观测为准。")
    return (" The predicted intensity exceeds what the stations observed: that place is "
            "nearer the epicentre than any station." if nearer else
            " The predicted intensity exceeds what the stations observed; rely on the "
            "observations.")


def _late(event: Event, lang: str) -> str:
    """The sentence of a late alert (``Event.late``): how late, and that the shaking has
    passed."""
    if not event.late or event.creation_time is None:
        return ""
    minutes = max(1, round(float(event.creation_time - event.time) / 60.0))
    if lang == "zh":
        return f"迟到的警报：本结果在发震后约{minutes}分钟才产出（数据延迟到达），震动已经过去。"
    return (f" LATE ALERT: made about {minutes} min after the origin (the data arrived "
            "late); the shaking is over.")


# --------------------------------------------------------------------------- texts
@dataclass(frozen=True)
class _Words:
    """An event message's headline and the clauses of its description after the first
    sentence, in one language (``{}``: the value); both languages say the same in the
    same order."""

    what_quake: str  # what the headline announces
    what_tsunami: str
    what_pending: str  # a tsunami message whose magnitude is being determined
    headline: str
    headline_no_magnitude: str
    final: str  # the headline of the final Update
    authoritative: str  # the agency's magnitude that decided a tsunami message
    decided_on: str  # our own magnitude that decided it, when not the preferred one
    observed: str  # the strongest intensity observed at the stations
    predicted: str  # the predicted site intensities
    sep: str  # between the items of a list
    basis: str  # stations and phases of the solution
    magnitude_stations: str
    stop: str
    note: str  # the solution's flags
    saturated: str
    tsunami_depth_unresolved: str
    tsunami_shallow: str
    tsunami_potential: str
    instr_tsunami: str
    instr_settled: str
    instr_review: str


_WORDS = {
    "zh": _Words(
        what_quake="地震速报",
        what_tsunami="海啸信息",
        what_pending="海啸信息（震级测定中）",
        headline="{what}：{here}发生{short}级地震",
        headline_no_magnitude="{what}：{here}发生地震（震级测定中）",
        final="最终结果 — {}",
        authoritative="权威机构震级：{}。",
        decided_on="海啸判定所用震级：{}。",
        observed="台站观测最大烈度：{}。",
        predicted="预测烈度：{}。",
        sep="；",
        basis="本结果基于{}个台站（{}个震相）",
        magnitude_stations="，震级由{n}个台站测定",
        stop="。",
        note="注意：{}。",
        saturated="本地震级已饱和或不可靠（记录限幅或震中远离台网），实际震级可能更大。",
        tsunami_depth_unresolved="震中位于海域，震源深度未能测定（可能较浅）",
        tsunami_shallow="震中位于海域且震源较浅",
        tsunami_potential="，可能引发海啸。本系统不计算海浪高度，请结合潮位站观测评估。",
        instr_tsunami="请立即评估海啸风险并按预案发布预警。",
        instr_settled="结果已确定，请按预案处置。",
        instr_review="请值班人员复核自动结果。",
    ),
    "en": _Words(
        what_quake="",
        what_tsunami="Tsunami information: ",
        what_pending="Tsunami information, magnitude being determined: ",
        headline="{what}{short} earthquake, {here}",
        headline_no_magnitude="{what}earthquake, {here}, magnitude being determined",
        final="Final: {}",
        authoritative=" Authoritative magnitude: {}.",
        decided_on=" Tsunami decided on: {}.",
        observed=" Strongest shaking observed at the stations: {}.",
        predicted=" Predicted intensity: {}.",
        sep="; ",
        basis=" Located with {} stations ({} phases)",
        magnitude_stations="; magnitude from {n} station{s}",
        stop=".",
        note=" Note: {}.",
        saturated=" Caution: the local magnitude is saturated or unreliable (clipped records or"
        " an epicentre far outside the network); the true magnitude may be much larger.",
        tsunami_depth_unresolved=" Offshore epicentre, depth not resolved (it may be shallow)",
        tsunami_shallow=" Shallow offshore epicentre",
        tsunami_potential=": tsunami potential. This system does not model wave heights; "
        "evaluate with tide-gauge observations.",
        instr_tsunami="Evaluate the tsunami threat now and warn according to the plan.",
        instr_settled="The solution is settled; act according to the plan.",
        instr_review="Duty seismologist: review the automatic solution.",
    ),
}


def _texts(event: Event, decision: AlertDecision, kind: str, ctx: Context, place: Place,
           status: str, network: str, lang: str) -> tuple[str, str, str]:
    """(headline, description, instruction) in ``lang`` ("zh" or "en")."""
    t = event.time.datetime.replace(tzinfo=dt.UTC)
    mag = magnitude_text(event, decision.saturated, lang)
    short = _short_mag(event, decision, lang)
    unc, level = location_uncertainty_km(event)
    pos = latlon(event.latitude, event.longitude, unc)
    here = place.zh if lang == "zh" else place.en
    sites = _site_areas(event, ctx.rules, ctx.sites)
    obs = _f(event.max_intensity)
    n_mag = event.n_magnitude_stations or max((m.n_stations for m in event.magnitudes
                                               if m.type == event.magnitude_type), default=0)
    flags = _flags(event, lang, depth=False)  # the depth clause says it already
    ext, agency = "", False
    tm = decision.tsunami_magnitude
    if kind == "Tsunami" and tm is not None and (
            decision.tsunami_magnitude_type != (event.magnitude_type or "ML")):
        # the magnitude that decided, when it is not the preferred one: name it
        agency = decision.tsunami_magnitude_type.endswith(")")
        ext = f"{decision.tsunami_magnitude_type} {tm:.1f}"
    pending = kind == "Tsunami" and decision.tsunami_pending
    w = _WORDS[lang]
    what = w.what_pending if pending else w.what_tsunami if kind == "Tsunami" else w.what_quake
    head = (w.headline if _f(event.magnitude) is not None else w.headline_no_magnitude).format(
        what=what, here=here, short=short)
    if status == "final":
        head = w.final.format(head)
    if lang == "zh":
        d = [f"{network}{_STATUS_WORDS[status][0]}：北京时间{fmt_bjt(t)}（{fmt_utc(t)}），"
             f"{here}（震中{pos}"
             + (f"，误差±{unc:.0f}千米，{level}" if unc is not None else "") + "）"
             + (f"发生{mag}级地震" if _f(event.magnitude) is not None else "发生地震，震级测定中")
             + (f"（震级误差±{event.magnitude_uncertainty:.1f}）"
                if _f(event.magnitude_uncertainty) else "")
             + f"，震源{depth_text(event, 'zh')}。"]
    else:
        loc = (f"{pos}" + (f" ± {unc:.0f} km ({level})" if unc is not None else ""))
        d = [f"{_STATUS_WORDS[status][1][0].upper()}{_STATUS_WORDS[status][1][1:]} of the "
             f"{network}: earthquake at {fmt_utc(t)} ({fmt_bjt(t)} Beijing time), {here}, "
             f"epicentre {loc}, "
             + depth_text(event, "en")
             + f", magnitude {mag}."]
    return (head, *_clauses(d, event, decision, kind, status, lang, ext, agency, obs, sites,
                            n_mag, flags))


def _clauses(d: list[str], event: Event, decision: AlertDecision, kind: str, status: str,
             lang: str, ext: str, agency: bool, obs: float | None,
             sites: Sequence[tuple[str, str, float, float, float]], n_mag: int,
             flags: list[str]) -> tuple[str, str]:
    """(description, instruction): the first sentence ``d`` and the clauses after it, in
    ``lang`` (:data:`_WORDS`)."""
    w = _WORDS[lang]
    if ext:
        d.append((w.authoritative if agency else w.decided_on).format(ext))
    if obs is not None:
        d.append(w.observed.format(intensity_text(obs, "cn", lang)))
    if sites:
        d.append(w.predicted.format(w.sep.join(
            f"{zh_n if lang == 'zh' else n} {intensity_text(i, 'cn', lang)}"
            for n, zh_n, i, _, _ in sites)))
    d.append(_prediction_caveat(event, lang))
    d.append(w.basis.format(event.n_stations, event.n_phases)
             + (w.magnitude_stations.format(n=n_mag, s="" if n_mag == 1 else "s")
                if n_mag else "") + w.stop
             + _late(event, lang))
    if flags:
        d.append(w.note.format(w.sep.join(flags)))
    if _ml_saturated(event, decision):
        d.append(w.saturated)
    if kind == "Tsunami":
        d.append((w.tsunami_depth_unresolved if event.depth_fixed else w.tsunami_shallow)
                 + w.tsunami_potential)
        instr = w.instr_tsunami
    elif status in ("final", "reviewed"):
        instr = w.instr_settled
    else:
        instr = w.instr_review
    return "".join(d), instr


def _parameters(event: Event, decision: AlertDecision, kind: str, place: Place,
                status: str, radius_km: float | None) -> tuple[tuple[str, str], ...]:
    def num(x: float | None, fmt: str) -> str:
        return "unknown" if _f(x) is None else format(x, fmt)

    unc, level = location_uncertainty_km(event)
    d = digits(unc)
    zunc = _f(event.vertical_uncertainty_km)
    params = [
        ("event_id", event.id),
        ("event_version", str(event.version)),
        ("origin_time", cap_datetime(event.time)),
        ("region", place.en),
        ("latitude", num(event.latitude, f".{d}f")),
        ("longitude", num(event.longitude, f".{d}f")),
        ("location_uncertainty_km", num(unc, ".1f") + (f" ({level})" if level else "")),
        ("depth_km", "not resolved" if event.depth_fixed else num(event.depth_km, ".1f")),
        ("depth_uncertainty_km", "not resolved" if event.depth_fixed else num(zunc, ".1f")),
        ("magnitude", "being determined" if _f(event.magnitude) is None
         else num(event.magnitude, ".1f")),
        ("magnitude_type", (event.magnitude_type or "ML") if _f(event.magnitude) is not None
         else "none yet"),
        ("magnitude_uncertainty", num(event.magnitude_uncertainty, ".1f")),
        ("magnitude_lower_bound", "true" if _lower_bound(event, decision) else "false"),
        ("magnitude_stations", str(event.n_magnitude_stations)),
        ("depth_resolved", "false" if event.depth_fixed else "true"),
        ("magnitude_saturated", "true" if _ml_saturated(event, decision) else "false"),
        ("magnitudes", "; ".join(
            m.label() for m in event.magnitudes if m.published and _f(m.value) is not None
        ) or (f"{event.magnitude_type or 'ML'} {event.magnitude:.1f}"
              if _f(event.magnitude) is not None else "none")),
        ("max_observed_intensity", intensity_text(event.max_intensity)),
        ("max_intensity", intensity_text(decision.max_intensity)),
        ("intensity_scale", "GB/T 17742-2020"),
        ("n_stations", str(event.n_stations)),
        ("n_phases", str(event.n_phases)),
        ("solution", {"stream": "real-time", "window": "minute-by-minute"}[event.solution]),
        ("solution_status", status),
        ("solution_time", cap_datetime(event.creation_time) if event.creation_time else "unknown"),
        ("late", "true" if event.late else "false"),
        ("review_status", event.status),
    ]
    flags = _flags(event, "en")
    if flags:
        params.append(("flags", "; ".join(flags)))
    if kind == "Tsunami":
        off = {True: "true", False: "false", None: "not evaluated"}[decision.offshore]
        params += [("offshore", off), ("tsunami_criteria_met", str(decision.tsunami).lower()),
                   ("tsunami_magnitude", num(decision.tsunami_magnitude, ".1f")),
                   ("tsunami_magnitude_type", decision.tsunami_magnitude_type or "unknown")]
        if radius_km is not None:
            params.append(("tsunami_area_radius_km", f"{radius_km:.0f}"))
        if decision.sea_fraction is not None:
            params.append(("uncertainty_region_sea_fraction", f"{decision.sea_fraction:.2f}"))
    return tuple(params)


def _areas(event: Event, decision: AlertDecision, kind: str, ctx: Context,
           radius_km: float | None, lang: str) -> tuple[CapArea, ...]:
    if kind == "Tsunami":
        r = radius_km if radius_km is not None else tsunami_area_km(event, decision)
        desc = (f"震中周边{r:.0f}千米海域及沿岸" if lang == "zh"
                else f"Sea and coasts within {r:.0f} km of the epicentre")
    elif decision.max_intensity is not None and decision.max_intensity >= 2.5:
        # felt (observed or predicted degree III): where it may be felt
        r = felt_radius_km(event.magnitude, event.depth_km)
        desc = (f"可能有感范围（震中周边{r:.0f}千米）" if lang == "zh"
                else f"Where the earthquake may be felt (within {r:.0f} km of the epicentre)")
    else:  # not felt: no felt area, the epicentre and its uncertainty
        unc, _ = location_uncertainty_km(event)
        r = max(unc or 0.0, 1.0)
        desc = (f"震中及其误差范围（{r:.0f}千米）" if lang == "zh"
                else f"Epicentre and its uncertainty ({r:.0f} km)")
    areas = [CapArea(desc, (circle(event.latitude, event.longitude, r),))]
    for name, name_zh, i, lat, lon in _site_areas(event, ctx.rules, ctx.sites):
        sdesc = (f"{name_zh}：预测烈度 {intensity_text(i, 'cn', 'zh')}" if lang == "zh"
                 else f"{name}: predicted intensity {intensity_text(i)}")
        areas.append(CapArea(sdesc, (circle(lat, lon, ctx.rules.area_site_radius_km),)))
    return tuple(areas)


def _info(event: Event, decision: AlertDecision, kind: str, ctx: Context, header: Header,
          progress: Progress, place: Place, lang: str) -> CapInfo:
    status = solution_status(event, progress.final)
    network = (ctx.network_zh or header.sender_name) if lang == "zh" else header.sender_name
    head, desc, instr = _texts(event, decision, kind, ctx, place, status, network, lang)
    radius = None
    if kind == "Tsunami":
        radius = progress.tsunami_radius_km or tsunami_area_km(event, decision)
    response = "Assess"
    if kind == "Tsunami" and not decision.tsunami:
        # An Update after revision below the criteria: say so, do not keep warning.
        severity, certainty, response = "Minor", "Unlikely", "AllClear"
        if lang == "zh":
            head = "修正：已不满足海啸可能性条件 — " + head
            instr = "修正后的参数已不满足海啸可能性条件，请据此复核。"
        else:
            head = "Revised: tsunami criteria no longer met — " + head
            instr = "The revised parameters no longer meet the tsunami-potential criteria."
    elif kind == "Tsunami":
        severity = decision.tsunami_severity  # from a moment-type magnitude only
        certainty = TSUNAMI_CERTAINTY
    else:
        severity = severity_from_intensity(decision.max_intensity)
        certainty = earthquake_certainty(event, _ml_saturated(event, decision))
        if status in ("final", "reviewed"):
            response = "Monitor"
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
        sender_name=network,
        onset=cap_datetime(event.time),
        parameters=_parameters(event, decision, kind, place, status, radius),
        areas=_areas(event, decision, kind, ctx, radius, lang),
        response_types=(response,),
        expires=expires(header, ctx),
        web=ctx.event_url(event.id),
        contact=ctx.contact or None,
    )


def _sms(event: Event, decision: AlertDecision, kind: str, header: Header, place: Place,
         ctx: Context) -> str:
    t = event.time.datetime.replace(tzinfo=dt.UTC)
    depth = "未测定" if event.depth_fixed else f"{km(event.depth_km)}千米"
    depth_en = "not resolved" if event.depth_fixed else f"{km(event.depth_km)} km"
    imax = decision.max_intensity
    zh_i = f"，最大烈度{intensity_text(imax, 'cn', 'zh')}" if imax is not None else ""
    en_i = f", max intensity {intensity_text(imax)}" if imax is not None else ""
    zh_k = "【海啸信息】" if kind == "Tsunami" else "【地震】"
    en_k = "TSUNAMI INFORMATION: " if kind == "Tsunami" else ""
    zh_m = _short_mag(event, decision, "zh")
    zh = (f"{zh_k}北京时间{fmt_bjt(t)} {place.zh}"
          + (f" {zh_m}级" if _f(event.magnitude) is not None else f" 地震（{zh_m}）")
          + f"，深度{depth}{zh_i}")
    en_m = (f"{_short_mag(event, decision, 'en')} earthquake" if _f(event.magnitude) is not None
            else "Earthquake, magnitude being determined,")
    en = f"{en_k}{en_m} {fmt_utc(t)}, {place.en}, depth {depth_en}{en_i}."
    url = ctx.event_url(event.id)
    return f"{prefix(header)}{zh}\n{en}" + (f" {url}" if url else f" id {event.id}")


def build_event_message(
    event: Event,
    decision: AlertDecision,
    kind: str,
    header: Header,
    ctx: Context,
    progress: Progress | None = None,
) -> Built:
    """An Alert or Update for ``event``; ``kind`` is "Earthquake" (on-call) or "Tsunami"
    (the tsunami centre): one kind of block per document, so one severity, zh and en."""
    place = place_name(event.latitude, event.longitude, ctx.sites)
    progress = progress or Progress()
    infos = tuple(_info(event, decision, kind, ctx, header, progress, place, lang)
                  for lang in ("zh", "en"))
    alert = cap_alert(header, infos, incidents=event.id.replace(" ", "_").replace(",", "_"))
    return Built(alert, to_xml(alert), f"{prefix(header)}{infos[1].headline}",
                 _sms(event, decision, kind, header, place, ctx))


# the other kinds, re-exported: one import for the service
from seismo.alerts.notices import (  # noqa: E402
    Notice,
    build_cancel_message,
    build_notice_message,
)
