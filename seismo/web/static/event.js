// One event: map (epicentre, ellipses, stations by residual, predicted intensity, ShakeMap-like
// grid), zoomable record section, review actions.
"use strict";
(function () {
  const ev = JSON.parse(document.getElementById("evdata").textContent);
  const e = ev.event, id = ev.id;
  let map = null, layers = {};

  function ellipse(lat0, lon0, a, b, azDeg) {
    const pts = [], az = azDeg * Math.PI / 180, kmLat = 111.195, kmLon = 111.195 * Math.cos(lat0 * Math.PI / 180);
    for (let k = 0; k <= 72; k++) {
      const t = 2 * Math.PI * k / 72, x = a * Math.cos(t), y = b * Math.sin(t);
      const n = x * Math.cos(az) - y * Math.sin(az), east = x * Math.sin(az) + y * Math.cos(az);
      pts.push([lat0 + n / kmLat, lon0 + east / kmLon]);
    }
    return pts;
  }
  function residualColour(r) {
    if (r == null) return "#95a5a6";
    const x = Math.max(-1, Math.min(1, r / 0.5));
    if (x < 0) return `rgb(${Math.round(255 * (1 + x))},${Math.round(255 * (1 + x))},255)`;
    return `rgb(255,${Math.round(255 * (1 - x))},${Math.round(255 * (1 - x))})`;
  }

  async function drawMap() {
    const net = await api("/api/network");
    const [la0, la1, lo0, lo1] = net.region;
    map = await baseMap(document.getElementById("evmap"), [[Math.min(la0, e.latitude), Math.min(lo0, e.longitude)], [Math.max(la1, e.latitude), Math.max(lo1, e.longitude)]]);
    if (!map) return;
    const res = {};
    for (const a of e.arrivals) { (res[a.network + "." + a.station] = res[a.network + "." + a.station] || []).push(a.residual_s); }
    const st = L.layerGroup();
    for (const s of net.stations) {
      const r = res[s.id] ? res[s.id].reduce((p, q) => p + q, 0) / res[s.id].length : null;
      stationMarker(s.latitude, s.longitude, residualColour(r), s.id).bindTooltip(`${s.id}: ${r == null ? "not used" : "mean residual " + r.toFixed(2) + " s"}`).addTo(st);
    }
    for (const s of e.site_intensities) {
      L.circleMarker([s.latitude, s.longitude], {radius: 7, color: "#333", weight: 1, fillColor: intensityColour(s.intensity_cn), fillOpacity: 0.9})
        .bindTooltip(`${s.name}: predicted ${roman(s.intensity_cn)} (${s.intensity_cn.toFixed(1)})`).addTo(st);
    }
    layers.stations = st.addTo(map);
    const el = ev.ellipse;
    if (el.azimuth_deg != null) {
      for (const [lvl, dash] of [["90", "6 4"], ["68", null]]) {
        const [a, b] = el[lvl];
        if (a != null && b != null) L.polygon(ellipse(e.latitude, e.longitude, a, b, el.azimuth_deg), {color: "#c0392b", weight: 2, dashArray: dash, fill: false}).bindTooltip(lvl + " % confidence ellipse").addTo(map);
      }
    }
    const star = L.divIcon({className: "star", html: '<svg width="26" height="26" viewBox="0 0 24 24"><polygon points="12,1 15,9 23,9 17,14 19,22 12,17 5,22 7,14 1,9 9,9" fill="#e74c3c" stroke="#000" stroke-width="1"/></svg>', iconSize: [26, 26], iconAnchor: [13, 13]});
    L.marker([e.latitude, e.longitude], {icon: star, zIndexOffset: 1000}).bindTooltip("epicentre").addTo(map);
  }

  async function shake() {
    if (layers.shake) return layers.shake;
    const g = await api(`/api/events/${encodeURIComponent(id)}/shakemap`);
    const grp = L.layerGroup();
    if (g.grid) {
      const dl = (g.lats[1] - g.lats[0]) / 2, dn = (g.lons[1] - g.lons[0]) / 2;
      g.grid.forEach((row, i) => row.forEach((v, j) => { if (v >= 1) L.rectangle([[g.lats[i] - dl, g.lons[j] - dn], [g.lats[i] + dl, g.lons[j] + dn]], {stroke: false, fillColor: intensityColour(v), fillOpacity: 0.55, interactive: false}).addTo(grp); }));
      for (const o of g.observed) L.circleMarker([o.latitude, o.longitude], {radius: 8, color: "#000", weight: 2, fillColor: intensityColour(o.intensity), fillOpacity: 1})
        .bindTooltip(`${o.station}: observed ${roman(o.intensity)} (${num(o.intensity, 1)})`).addTo(grp);
    }
    layers.shake = grp;
    return grp;
  }
  const legend = document.getElementById("maplegend"), stationLegend = legend.innerHTML;
  const shakeLegend = "cells: predicted intensity (GB/T 17742-2020) · ● station: observed intensity · " +
    [2, 3, 4, 5, 6, 7, 8, 9].map(i => `<span class="sw" style="background:${intensityColour(i)}"></span> ${roman(i)}`).join(" ");
  document.querySelectorAll("input[name=layer]").forEach(r => r.addEventListener("change", async () => {
    if (!map) return;
    if (r.value === "shake" && r.checked) { map.removeLayer(layers.stations); (await shake()).addTo(map); legend.innerHTML = shakeLegend; }
    if (r.value === "stations" && r.checked) { if (layers.shake) map.removeLayer(layers.shake); layers.stations.addTo(map); legend.innerHTML = stationLegend; }
  }));

  // ---------------------------------------------------------------- record section
  const cv = document.getElementById("rs"), cx = cv.getContext("2d");
  let wf = null, view = null, full = null, home = null;
  const M = {l: 52, r: 70, t: 12, b: 34};
  function px(t) { return M.l + (t - view.t0) / (view.t1 - view.t0) * (cv.width - M.l - M.r); }
  function py(d) { return M.t + (d - view.d0) / (view.d1 - view.d0) * (cv.height - M.t - M.b); }
  function draw() {
    cx.clearRect(0, 0, cv.width, cv.height); cx.fillStyle = "#fff"; cx.fillRect(0, 0, cv.width, cv.height);
    if (!wf || !wf.traces.length) { cx.fillStyle = "#c0392b"; cx.font = "15px sans-serif"; cx.fillText("no waveforms of this event: " + Object.values((wf || {}).errors || {}).slice(0, 1).join(""), 20, 40); return; }
    cx.save(); cx.beginPath(); cx.rect(M.l, M.t, cv.width - M.l - M.r, cv.height - M.t - M.b); cx.clip();
    const sp = (view.d1 - view.d0) / Math.max(6, wf.traces.length) * 0.45;
    const ampPx = Math.abs(py(sp) - py(0));
    for (const tr of wf.traces) {
      cx.strokeStyle = tr.shows_event ? "#111" : "#aaa"; cx.lineWidth = 0.7; cx.beginPath();
      const y0 = py(tr.distance_km);
      for (let i = 0; i < tr.values.length; i++) { const x = px(tr.t0 + i * tr.dt), y = y0 - tr.values[i] * ampPx; i ? cx.lineTo(x, y) : cx.moveTo(x, y); }
      cx.stroke();
    }
    for (const [ph, col] of [["P", "#c0392b"], ["S", "#2471a3"]]) {
      const c = wf.predicted[ph]; if (!c) continue;
      cx.strokeStyle = col; cx.setLineDash([6, 4]); cx.lineWidth = 1.2; cx.beginPath();
      c.time_s.forEach((t, i) => { const x = px(t), y = py(c.distance_km[i]); i ? cx.lineTo(x, y) : cx.moveTo(x, y); });
      cx.stroke(); cx.setLineDash([]);
    }
    const byS = Object.fromEntries(wf.traces.map(t => [t.station, t]));
    for (const p of wf.picks) {
      const tr = byS[p.station]; if (!tr || !tr.shows_event) continue;  // never a pick on data without the event
      const x = px(p.t), y = py(tr.distance_km);
      cx.strokeStyle = p.phase === "P" ? "#e74c3c" : "#3498db"; cx.lineWidth = 2.5; cx.beginPath(); cx.moveTo(x, y - ampPx * 1.2); cx.lineTo(x, y + ampPx * 1.2); cx.stroke();
    }
    cx.restore();
    cx.fillStyle = "#222"; cx.font = "11px sans-serif";
    // station labels in the right margin, spread so that none overlaps (a leader line
    // ties a moved label to its trace)
    const labs = wf.traces.map(tr => ({tr, y: py(tr.distance_km)})).filter(l => l.y > M.t && l.y < cv.height - M.b).sort((a, b) => a.y - b.y);
    const GAP = 11, top = M.t + 4, bottom = cv.height - M.b - 2;
    labs.forEach((l, i) => { l.ly = i ? Math.max(l.y, labs[i - 1].ly + GAP) : Math.max(l.y, top); });
    for (let i = labs.length - 1; i >= 0; i--) labs[i].ly = Math.max(top, Math.min(labs[i].ly, i === labs.length - 1 ? bottom : labs[i + 1].ly - GAP));
    for (const l of labs) {
      const x0 = cv.width - M.r;
      cx.strokeStyle = "#bbb"; cx.lineWidth = 0.7; cx.beginPath(); cx.moveTo(x0, l.y); cx.lineTo(x0 + 8, l.ly); cx.stroke();
      cx.fillStyle = l.tr.shows_event ? "#222" : "#999";
      cx.fillText(l.tr.station.split(".")[1] + (l.tr.shows_event ? "" : " ✕"), x0 + 10, l.ly + 4);
    }
    cx.strokeStyle = "#555"; cx.strokeRect(M.l, M.t, cv.width - M.l - M.r, cv.height - M.t - M.b);
    cx.fillStyle = "#222";
    const step = niceStep((view.t1 - view.t0) / 8);
    for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) { const x = px(t); cx.fillText(t.toFixed(step < 1 ? 1 : 0), x - 8, cv.height - M.b + 14); cx.beginPath(); cx.moveTo(x, cv.height - M.b); cx.lineTo(x, cv.height - M.b + 4); cx.stroke(); }
    const ds = niceStep((view.d1 - view.d0) / 6);
    for (let d = Math.ceil(view.d0 / ds) * ds; d <= view.d1; d += ds) { const y = py(d); cx.fillText(d.toFixed(0), M.l - 30, y + 4); }
    cx.fillText("time after origin (s)", cv.width / 2 - 50, cv.height - 4);
    cx.save(); cx.translate(12, cv.height / 2 + 40); cx.rotate(-Math.PI / 2); cx.fillText("distance (km)", 0, 0); cx.restore();
    if (!wf.holds_event) { cx.fillStyle = "rgba(255,255,255,0.85)"; cx.fillRect(M.l + 20, cv.height / 2 - 24, cv.width - M.l - M.r - 40, 36); cx.fillStyle = "#c0392b"; cx.font = "bold 14px sans-serif"; cx.fillText("These waveforms do not hold the event: no pick is drawn.", M.l + 34, cv.height / 2); }
    document.getElementById("rs").dataset.view = JSON.stringify(view);
  }
  function niceStep(x) { const p = Math.pow(10, Math.floor(Math.log10(x))), f = x / p; return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p; }
  function zoom(f, tc) { const c = tc == null ? (view.t0 + view.t1) / 2 : tc; view.t0 = c - (c - view.t0) * f; view.t1 = c + (view.t1 - c) * f; draw(); }
  cv.addEventListener("wheel", ev2 => { ev2.preventDefault(); const r = cv.getBoundingClientRect(); const x = (ev2.clientX - r.left) * cv.width / r.width;
    const t = view.t0 + (x - M.l) / (cv.width - M.l - M.r) * (view.t1 - view.t0); zoom(ev2.deltaY < 0 ? 0.8 : 1.25, t); }, {passive: false});
  let drag = null;
  cv.addEventListener("mousedown", ev2 => { drag = {x: ev2.clientX, y: ev2.clientY, v: {...view}}; });
  window.addEventListener("mouseup", () => { drag = null; });
  window.addEventListener("mousemove", ev2 => { if (!drag) return; const r = cv.getBoundingClientRect();
    const dt = (ev2.clientX - drag.x) * cv.width / r.width / (cv.width - M.l - M.r) * (drag.v.t1 - drag.v.t0);
    const dd = (ev2.clientY - drag.y) * cv.height / r.height / (cv.height - M.t - M.b) * (drag.v.d1 - drag.v.d0);
    view = {t0: drag.v.t0 - dt, t1: drag.v.t1 - dt, d0: drag.v.d0 - dd, d1: drag.v.d1 - dd}; draw(); });
  document.getElementById("zin").onclick = () => zoom(0.5);
  document.getElementById("zout").onclick = () => zoom(2);
  document.getElementById("zreset").onclick = () => { view = {...home}; draw(); };

  async function loadWaveforms() {
    cx.fillStyle = "#777"; cx.font = "14px sans-serif"; cx.fillText("loading the record section…", 40, 40);
    wf = await api(`/api/events/${encodeURIComponent(id)}/waveforms`);
    const ts = wf.traces.flatMap(t => [t.t0, t.t0 + t.dt * t.values.length]), ds = wf.traces.map(t => t.distance_km);
    full = ts.length ? {t0: Math.min(...ts), t1: Math.max(...ts), d0: Math.min(...ds) - 3, d1: Math.max(...ds) + 3} : {t0: -10, t1: 60, d0: 0, d1: 50};
    // open on the picks (4 s before the first, 12 s after the last); zoom out shows it all
    const pt = wf.picks.filter(p => (wf.traces.find(t => t.station === p.station) || {}).shows_event).map(p => p.t);
    home = pt.length ? {t0: Math.max(full.t0, Math.min(...pt) - 4), t1: Math.min(full.t1, Math.max(...pt) + 12), d0: full.d0, d1: full.d1} : {...full};
    view = {...home};
    document.getElementById("rs-source").textContent = wf.source ? "from " + wf.source.replace(/ \/.*\//, " ") : "";
    const hidden = wf.traces.filter(t => !t.shows_event).map(t => `${t.station.split(".")[1]}: ${t.note}`);
    const missing = Object.entries(wf.errors || {}).map(([k, v]) => `${k.split(".").pop()}: ${v}`);
    document.getElementById("rs-note").textContent = (wf.holds_event ? "" : "These waveforms do not hold the event; picks are not drawn. ") +
      (hidden.length ? "Picks hidden on traces without the event (" + hidden.join("; ") + "). " : "") + (missing.length ? "No trace: " + missing.join("; ") : "");
    draw();
  }

  // ---------------------------------------------------------------- review
  async function act(path, body) {
    const out = document.getElementById("review-result");
    out.textContent = "working…";
    try { const r = await post(path, body); out.textContent = r.text || "done"; setTimeout(() => location.reload(), 600); }
    catch (err) { out.textContent = "refused: " + err.message; out.className = "error"; }
  }
  const c = () => (document.getElementById("comment") || {}).value || "";
  const btn = (i, f) => { const b = document.getElementById(i); if (b) b.onclick = f; };
  btn("confirm", () => act(`/api/events/${encodeURIComponent(id)}/review`, {action: "confirm", comment: c()}));
  btn("reject", () => { if (confirm("Reject this event? Every open alert thread gets a CAP Cancel.")) act(`/api/events/${encodeURIComponent(id)}/review`, {action: "reject", comment: c()}); });
  btn("note", () => act(`/api/events/${encodeURIComponent(id)}/review`, {action: "comment", comment: c()}));
  btn("relocate", () => act(`/api/events/${encodeURIComponent(id)}/relocate`, {
    drop_picks: [...document.querySelectorAll("input.drop:checked")].map(x => x.value),
    add_picks: document.getElementById("addpicks").value.split("\n").map(s => s.trim()).filter(Boolean), comment: c()}));

  drawMap(); loadWaveforms();
})();
