"""Messages that are not an event's Alert or Update: the Cancel of a thread, and
operational notices (station health, network down, the stream down), in Chinese and
English (docs/alerts.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from seismo.alerts.cap import CapArea, CapInfo, circle, to_xml
from seismo.alerts.gazetteer import place_name
from seismo.alerts.region import felt_radius_km
from seismo.alerts.texts import (
    Built,
    Context,
    Header,
    cap_alert,
    expires,
    fmt_bjt,
    fmt_utc,
    latlon,
    location_uncertainty_km,
    prefix,
)
from seismo.model import Event


def build_cancel_message(event: Event, kind: str, reason: str, header: Header,
                         ctx: Context) -> Built:
    """A Cancel of earlier messages about ``event`` (e.g. rejected by the seismologist)."""
    t = event.time.datetime.replace(tzinfo=dt.UTC)
    place = place_name(event.latitude, event.longitude, ctx.sites)
    unc, _ = location_uncertainty_km(event)
    r = max(unc or 0.0, felt_radius_km(event.magnitude, event.depth_km))
    pos = latlon(event.latitude, event.longitude, unc)
    infos = []
    for lang in ("zh", "en"):
        if lang == "zh":
            what = "海啸信息" if kind == "Tsunami" else "地震速报"
            head = f"取消：北京时间{fmt_bjt(t)} {place.zh}{what}"
            desc = (f"此前发布的关于{place.zh}（{pos}）地震（事件{event.id}）的信息已撤销。"
                    f"原因：{reason}")
            area = CapArea("原通报震中", (circle(event.latitude, event.longitude, r),))
        else:
            what = "tsunami information" if kind == "Tsunami" else "earthquake message"
            head = f"CANCELLED: {what} for {fmt_utc(t)}, {place.en}"
            desc = (f"Earlier messages about the earthquake {place.en} ({pos}, event "
                    f"{event.id}) are withdrawn. Reason: {reason}")
            area = CapArea("Epicentre of the withdrawn message",
                           (circle(event.latitude, event.longitude, r),))
        infos.append(CapInfo(
            language="zh-CN" if lang == "zh" else "en-US",
            category="Geo",
            event=("海啸" if kind == "Tsunami" else "地震") if lang == "zh" else kind,
            urgency="Past",
            severity="Minor",
            certainty="Unlikely",
            headline=head,
            description=desc,
            sender_name=header.sender_name,
            parameters=(("event_id", event.id), ("region", place.en), ("cancel_reason", reason)),
            areas=(area,),
            response_types=("AllClear",),
            expires=expires(header, ctx),
            web=ctx.event_url(event.id),
            contact=ctx.contact or None,
        ))
    alert = cap_alert(header, tuple(infos),
                       incidents=event.id.replace(" ", "_").replace(",", "_"))
    subject = f"{prefix(header)}{infos[1].headline}"
    text = f"{prefix(header)}{infos[0].headline}\n{infos[1].headline}. {reason}"
    return Built(alert, to_xml(alert), subject, text)


@dataclass(frozen=True)
class Notice:
    """An operational notice in both languages (station health, network down)."""

    subject: str
    text: str
    subject_zh: str
    text_zh: str


def build_notice_message(notice: Notice, header: Header, area_desc: str,
                         ctx: Context) -> Built:
    """An operational notice as CAP category Infra: zh-CN and en-US blocks."""
    infos = tuple(
        CapInfo(
            language=lang,
            category="Infra",
            event="地震台网状态" if lang == "zh-CN" else "Seismic network status",
            urgency="Expected",
            severity="Minor",
            certainty="Observed",
            headline=(head[:160]),
            description=text,
            sender_name=header.sender_name,
            areas=(CapArea(area_desc or "seismic network"),),
            response_types=("Monitor",),
            expires=expires(header, ctx),
            web=ctx.web.rstrip("/") + "/stations" if ctx.web else None,
            contact=ctx.contact or None,
        )
        for lang, head, text in (("zh-CN", notice.subject_zh, notice.text_zh),
                                 ("en-US", notice.subject, notice.text))
    )
    alert = cap_alert(header, infos)
    return Built(alert, to_xml(alert), f"{prefix(header)}{notice.subject}",
                 f"{prefix(header)}{notice.text_zh}\n{notice.text}")
