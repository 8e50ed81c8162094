// Live events: short polling of /api/events, list + map, filters, highlight and sound.
"use strict";
(function () {
  const tbody = document.querySelector("#events tbody");
  const form = document.getElementById("filters");
  // Polls every [web] poll_s with the token of the last answer: when no event version or
  // alert record was added, the server answers {changed: false} and nothing is redrawn.
  // Every FULL_MS the page is fetched whatever the token says (a version that replaced a
  // stored point with the same origin time and tags leaves the counts unchanged).
  const FULL_MS = 60000;
  let page = 1, seen = null, map = null, layer = null, net = null, pollMs = 5000, token = null, full = 0, last = null;
  const fresh = new Map();  // id -> time it was first seen (highlight for 10 min)

  function query() {
    const f = new FormData(form), end = new Date(), span = Number(f.get("span"));
    const p = new URLSearchParams({start: new Date(end - span * 1000).toISOString(), end: end.toISOString(), page: page});
    if (f.get("min_magnitude")) p.set("min_magnitude", f.get("min_magnitude"));
    if (f.get("status")) p.set("status", f.get("status"));
    if (token && Date.now() - full < FULL_MS) p.set("since", token);
    return "/api/events?" + p.toString();
  }

  function row(e) {
    const hl = fresh.has(e.id) && e.oncall ? " hl" : "";
    return `<tr class="ev${hl}" data-id="${esc(e.id)}"><td><a href="${ROOT}/events/${encodeURIComponent(e.id)}">${esc(e.time.replace("T", " ").slice(0, 21))}</a></td>
      <td>${esc(e.place)}</td><td>${e.magnitude == null ? "–" : esc(e.magnitude_type) + " " + num(e.magnitude, 1)}</td>
      <td>${e.max_intensity == null ? "–" : roman(e.max_intensity)}</td>
      <td><span class="status s-${e.status}">${e.status}</span></td><td>${esc(e.alert_state)}</td><td>${e.version}</td></tr>`;
  }

  function drawMap(events) {
    if (!map) return;
    if (layer) layer.remove();
    layer = L.layerGroup().addTo(map);
    for (const e of events) {
      if (e.latitude == null) continue;
      const r = 4 + 3 * Math.max(0, (e.magnitude || 0));
      L.circleMarker([e.latitude, e.longitude], {radius: r, color: fresh.has(e.id) && e.oncall ? "#ff0000" : "#333", weight: fresh.has(e.id) && e.oncall ? 3 : 1,
        fillColor: STATUS_COLOURS[e.status] || "#999", fillOpacity: 0.75})
        .bindTooltip(`${e.time.slice(0, 19)} ${e.magnitude_type} ${num(e.magnitude, 1)} ${e.place}`)
        .on("click", () => { location.href = ROOT + "/events/" + encodeURIComponent(e.id); }).addTo(layer);
    }
  }

  async function refresh() {
    let data;
    try { data = await api(query()); } catch (err) { document.getElementById("updated").textContent = "update failed: " + err.message; return; }
    const stamp = "updated " + new Date().toISOString().slice(11, 19) + " UTC";
    document.getElementById("updated").textContent = stamp;
    token = data.token;
    if (!data.changed) {
      const u = document.getElementById("updated");
      u.dataset.unchanged = Number(u.dataset.unchanged || 0) + 1;
      if (expire() && last) render(last);  // a highlight ran out
      return;
    }
    full = Date.now();
    const ids = new Set(data.events.map(e => e.id));
    if (seen !== null) {
      const newcomers = data.events.filter(e => !seen.has(e.id));
      for (const e of newcomers) fresh.set(e.id, Date.now());
      if (newcomers.some(e => e.oncall) && document.getElementById("sound").checked) beep();
    }
    seen = new Set([...(seen || []), ...ids]);
    expire();
    render(last = data);
  }

  function expire() {  // highlights last 10 min
    let gone = false;
    for (const [id, t] of fresh) if (Date.now() - t > 600000) { fresh.delete(id); gone = true; }
    return gone;
  }

  function render(data) {
    tbody.innerHTML = data.events.map(row).join("") || `<tr><td colspan="7" class="muted">no event in this span</td></tr>`;
    const pages = Math.max(1, Math.ceil(data.total / data.page_size));
    document.getElementById("pageinfo").textContent = `page ${data.page} of ${pages} (${data.total} events)`;
    document.getElementById("prev").disabled = data.page <= 1;
    document.getElementById("next").disabled = data.page >= pages;
    drawMap(data.events);
  }

  async function init() {
    const me = await api("/api/me"); pollMs = me.poll_s * 1000;
    net = await api("/api/network");
    const [la0, la1, lo0, lo1] = net.region;
    map = await baseMap(document.getElementById("map"), [[la0, lo0], [la1, lo1]]);
    if (map) for (const s of net.stations) stationMarker(s.latitude, s.longitude, "#2c3e50", s.id).bindTooltip(s.id + " " + s.name).addTo(map);
    await refresh();
    setInterval(refresh, pollMs);
  }
  form.addEventListener("change", () => { page = 1; token = null; refresh(); });
  document.getElementById("prev").onclick = () => { page = Math.max(1, page - 1); token = null; refresh(); };
  document.getElementById("next").onclick = () => { page += 1; token = null; refresh(); };
  init();
})();
