"""The console's routes: the JSON API (``/api/...``) and the pages.

Routes only check who may do what, parse parameters and hand over to
:class:`seismo.web.data.Console`; pages are Jinja2 templates whose scripts read the
same JSON API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from obspy import UTCDateTime
from pydantic import BaseModel, Field

from seismo.errors import AuthError
from seismo.web.auth import check_csrf, require, same_origin, sign_in
from seismo.web.data import STATUSES, Console
from seismo.web.users import User

api = APIRouter(prefix="/api", tags=["api"])
pages = APIRouter(include_in_schema=False)


def console(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


def _time(value: str | None, name: str, default: UTCDateTime) -> UTCDateTime:
    if not value:
        return default
    try:
        return UTCDateTime(value)
    except (TypeError, ValueError):
        raise HTTPException(400, f"{name}: not an ISO 8601 time: {value!r}") from None


# --------------------------------------------------------------------------- API: reading
@api.get("/events", summary="Events with origin time in [start, end], newest first, paged")
def list_events(
    request: Request,
    user: Annotated[User, require("viewer")],
    start: Annotated[str | None, Query(description="ISO 8601 UTC; default: end - "
                                       "[web] live_window_s")] = None,
    end: Annotated[str | None, Query(description="ISO 8601 UTC; default: now")] = None,
    status: Annotated[str | None, Query(description=" | ".join(STATUSES))] = None,
    min_magnitude: Annotated[float | None, Query(ge=-2, le=10)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int | None, Query(ge=1, le=1000)] = None,
    since: Annotated[str | None, Query(
        max_length=200, description="the `token` of an earlier answer: when nothing "
        "changed since, the answer is only `{changed: false, token}`")] = None,
) -> dict[str, Any]:
    """Each event has ``id``, ``time``, ``place``, ``magnitude`` and ``magnitude_type``,
    ``max_intensity``, ``status`` (streaming, automatic, confirmed, rejected, cancelled),
    ``alert_state`` and ``oncall`` (it passed the on-call alert rules). ``changed`` is
    true and ``token`` identifies the state of the span (event versions, alert records)
    for the next poll's ``since``."""
    c = console(request)
    t1 = _time(end, "end", UTCDateTime())
    t0 = _time(start, "start", t1 - c.settings.web.live_window_s)
    return c.events(t0, t1, status=status or None, min_magnitude=min_magnitude, page=page,
                    page_size=page_size, token=since or None)


@api.get("/events/{event_id}", summary="One event: latest version, versions, alert thread")
def get_event(event_id: str, request: Request,
              user: Annotated[User, require("viewer")]) -> dict[str, Any]:
    """The latest version in full (``event``), ``versions`` (the timeline: stream or
    DAG, time after origin, stations, what changed, the messages it caused), ``alerts``
    (the CAP thread with deliveries per channel) and ``actions`` (console review trail)."""
    return console(request).event(event_id)


@api.get("/events/{event_id}/waveforms", summary="The event's record section")
def get_waveforms(event_id: str, request: Request,
                  user: Annotated[User, require("viewer")]) -> dict[str, Any]:
    """Traces from the event archive (normalised, decimated), picks, predicted P and S;
    ``shows_event`` is False for a trace that does not hold the event."""
    return console(request).waveforms(event_id)


@api.get("/events/{event_id}/shakemap", summary="Predicted-intensity grid and observations")
def get_shakemap(event_id: str, request: Request,
                 user: Annotated[User, require("viewer")]) -> dict[str, Any]:
    return console(request).shakemap(event_id)


@api.get("/network", summary="Stations, sites and the monitored region")
def get_network(request: Request, user: Annotated[User, require("viewer")]) -> dict[str, Any]:
    return console(request).network()


@api.get("/stations", summary="Station wall: status, reasons, latency, availability, gaps")
def get_stations(request: Request, user: Annotated[User, require("viewer")]) -> dict[str, Any]:
    return console(request).stations()


@api.get("/stations/{station_id}", summary="One station's health metrics over time")
def get_station(station_id: str, request: Request, user: Annotated[User, require("viewer")],
                hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24.0) -> dict[str, Any]:
    return console(request).station(station_id, hours)


@api.get("/stations/{station_id}/psd",
         summary="The station's noise PSD and its probability density, per channel")
def get_psd(station_id: str, request: Request, user: Annotated[User, require("viewer")],
            span_s: Annotated[float | None, Query(
                gt=0, le=86400, description="seconds before now; default and minimum: "
                "the health window")] = None) -> dict[str, Any]:
    """Fetched from the feed and assessed by the health check (ObsPy PPSD): per channel
    the median PSD (dB re 1 (m/s²)²/Hz) and the probability density of the segments."""
    return console(request).psd(station_id, span_s)


@api.get("/basemap", summary="Land, coastline and borders around the network (GeoJSON)")
def get_basemap(request: Request, user: Annotated[User, require("viewer")]) -> Response:
    """Natural Earth 1:10m near the network and 1:50m farther out, clipped once per
    process (``seismo.web.basemap``); cached by the browser (ETag)."""
    try:
        bm = console(request).basemap()
    except FileNotFoundError as exc:
        raise HTTPException(503, f"map data not installed (run scripts/setup.sh): {exc}") \
            from None
    headers = {"ETag": f'"{bm.etag}"', "Cache-Control": "private, max-age=86400"}
    if request.headers.get("if-none-match") == f'"{bm.etag}"':
        return Response(status_code=304, headers=headers)
    return Response(bm.body, media_type="application/json", headers=headers)


@api.get("/outbox", summary="Alert outbox: pending, delivered and dead deliveries")
def get_outbox(request: Request, user: Annotated[User, require("oncall")]) -> dict[str, Any]:
    return console(request).outbox()


@api.get("/drills", summary="Scenarios and the drills started here")
def get_drills(request: Request, user: Annotated[User, require("viewer")]) -> dict[str, Any]:
    c = console(request)
    return {"scenarios": c.scenarios(),
            "drills": [vars(d) for d in sorted(c.drills.values(), key=lambda d: -d.id)]}


@api.get("/me", summary="The signed-in user and the session's CSRF token")
def me(request: Request, user: Annotated[User, require("viewer")]) -> dict[str, Any]:
    return {"name": user.name, "role": user.role, "csrf": request.session.get("csrf"),
            "poll_s": console(request).settings.web.poll_s}


# --------------------------------------------------------------------------- API: actions
class ReviewBody(BaseModel):
    action: str = Field(description="confirm | reject | comment")
    comment: str = Field("", max_length=2000)


class RelocateBody(BaseModel):
    drop_picks: list[str] = Field(default_factory=list, description="pick ids to leave out")
    add_picks: list[str] = Field(default_factory=list,
                                 description="manual picks STATION:PHASE:ISO-TIME")
    comment: str = Field("", max_length=2000)


@api.post("/events/{event_id}/review", dependencies=[Depends(check_csrf)],
          summary="Confirm, reject (CAP Cancel) or comment; role seismologist")
def post_review(event_id: str, body: ReviewBody, request: Request,
                user: Annotated[User, require("seismologist")]) -> dict[str, Any]:
    c = console(request)
    if body.action == "comment":
        return c.comment(user.name, event_id, body.comment)
    status = {"confirm": "confirmed", "reject": "rejected"}.get(body.action)
    if status is None:
        raise HTTPException(400, f"action {body.action!r} must be confirm, reject or comment")
    return c.review(user.name, event_id, status, body.comment)


@api.post("/events/{event_id}/relocate", dependencies=[Depends(check_csrf)],
          summary="Relocate with picks dropped or added; role seismologist")
def post_relocate(event_id: str, body: RelocateBody, request: Request,
                  user: Annotated[User, require("seismologist")]) -> dict[str, Any]:
    return console(request).relocate(user.name, event_id, body.drop_picks, body.add_picks,
                                     body.comment)


@api.post("/outbox/{key}/requeue", dependencies=[Depends(check_csrf)],
          summary="Re-queue a dead delivery; role oncall")
def post_requeue(key: str, request: Request,
                 user: Annotated[User, require("oncall")]) -> dict[str, Any]:
    return console(request).requeue(user.name, key)


class DrillBody(BaseModel):
    scenario: str


@api.post("/drills", dependencies=[Depends(check_csrf)],
          summary="Start a scenario as a drill (CAP status Exercise); role seismologist")
def post_drill(body: DrillBody, request: Request,
               user: Annotated[User, require("seismologist")]) -> dict[str, Any]:
    return vars(console(request).start_drill(user.name, body.scenario))


# --------------------------------------------------------------------------- sign-in
@pages.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "user": None})


def _safe_next(url: str) -> str:
    return url if url.startswith("/") and not url.startswith("//") else "/"


@pages.post("/login", response_class=HTMLResponse)
def login(request: Request, username: Annotated[str, Form()],
          password: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    if not same_origin(request):
        raise HTTPException(403, "sign-in from another site refused")
    try:
        sign_in(request, username, password)
    except AuthError as exc:
        code = 429 if "too many" in str(exc) else 401
        return request.app.state.templates.TemplateResponse(
            request, "login.html", {"next": _safe_next(next), "error": str(exc), "user": None},
            status_code=code)
    root = request.scope.get("root_path", "")
    return RedirectResponse(root + _safe_next(next), status_code=303)


@pages.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse(request.scope.get("root_path", "") + "/login", status_code=303)


# --------------------------------------------------------------------------- pages
def _page(request: Request, template: str, user: User, **ctx: Any) -> Response:
    return request.app.state.templates.TemplateResponse(request, template, {
        "user": user, "csrf": request.session.get("csrf"),
        "network": console(request).settings.network.name, **ctx})


@pages.get("/", response_class=HTMLResponse)
def events_page(request: Request, user: Annotated[User, require("viewer")]) -> Response:
    return _page(request, "events.html", user, statuses=STATUSES, page="events")


@pages.get("/events/{event_id}", response_class=HTMLResponse)
def event_page(event_id: str, request: Request,
               user: Annotated[User, require("viewer")]) -> Response:
    data = console(request).event(event_id)
    return _page(request, "event.html", user, ev=data, page="events",
                 may_review=user.may("seismologist"))


@pages.get("/stations", response_class=HTMLResponse)
def stations_page(request: Request, user: Annotated[User, require("viewer")]) -> Response:
    return _page(request, "stations.html", user, page="stations")


@pages.get("/stations/{station_id}", response_class=HTMLResponse)
def station_page(station_id: str, request: Request,
                 user: Annotated[User, require("viewer")]) -> Response:
    c = console(request)
    data = {**c.station(station_id),
            "pdf_span_s": max(c.settings.web.pdf_span_s, c.settings.health.window_s)}
    return _page(request, "station.html", user, st=data, page="stations")


@pages.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, user: Annotated[User, require("oncall")]) -> Response:
    return _page(request, "alerts.html", user, page="alerts")


@pages.get("/drills", response_class=HTMLResponse)
def drills_page(request: Request, user: Annotated[User, require("viewer")]) -> Response:
    return _page(request, "drills.html", user, page="drills",
                 may_drill=user.may("seismologist"))


@pages.get("/api", response_class=HTMLResponse)
def api_page(request: Request, user: Annotated[User, require("viewer")]) -> Response:
    """The OpenAPI description drawn as a page (no external script)."""
    spec = request.app.openapi()
    return _page(request, "api.html", user, spec=spec, page="api")

