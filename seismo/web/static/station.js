// One station: noise PSD now (SVG, log period axis) and metrics over time (SVG lines).
"use strict";
(function () {
  const st = JSON.parse(document.getElementById("stdata").textContent);
  const NS = "http://www.w3.org/2000/svg";
  function el(tag, attrs, parent) { const e = document.createElementNS(NS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); if (parent) parent.appendChild(e); return e; }
  function text(parent, x, y, s, extra) { const t = el("text", Object.assign({x: x, y: y, "font-size": 11}, extra || {}), parent); t.textContent = s; return t; }
  const COLS = ["#c0392b", "#2471a3", "#1e8449", "#8e44ad", "#d35400", "#117a65"];

  async function psd() {
    const svg = document.getElementById("psd"), W = 640, H = 380, m = {l: 56, r: 12, t: 10, b: 36};
    text(svg, 200, 190, "computing the PSD from the station's feed…", {fill: "#777"});
    let d;
    try { d = await api(`/api/stations/${encodeURIComponent(st.id)}/psd`); } catch (err) { svg.innerHTML = ""; text(svg, 40, 190, "no PSD: " + err.message, {fill: "#c0392b"}); return; }
    svg.innerHTML = "";
    document.getElementById("psd-when").textContent = d.start ? `${d.start.slice(0, 16)} – ${d.end.slice(11, 16)} UTC` : "";
    const X = p => m.l + (Math.log10(p) + 2) / 4.5 * (W - m.l - m.r), Y = db => m.t + (-50 - db) / 150 * (H - m.t - m.b);
    el("rect", {x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, fill: "#fff", stroke: "#555"}, svg);
    for (const p of [0.01, 0.1, 1, 10, 100]) { el("line", {x1: X(p), x2: X(p), y1: m.t, y2: H - m.b, stroke: "#ddd"}, svg); text(svg, X(p) - 10, H - m.b + 14, String(p)); }
    for (let db = -200; db <= -50; db += 25) { el("line", {x1: m.l, x2: W - m.r, y1: Y(db), y2: Y(db), stroke: "#eee"}, svg); text(svg, 8, Y(db) + 4, String(db)); }
    text(svg, W / 2 - 30, H - 6, "period (s)");
    const line = (xs, ys, attrs) => el("polyline", Object.assign({fill: "none", points: xs.map((x, i) => `${X(x)},${Y(ys[i])}`).join(" ")}, attrs), svg);
    line(d.models.periods_s, d.models.nlnm, {stroke: "#555", "stroke-dasharray": "5 3"});
    line(d.models.periods_s, d.models.nhnm, {stroke: "#555", "stroke-dasharray": "2 3"});
    d.channels.forEach((c, i) => { line(c.periods_s, c.db, {stroke: COLS[i % COLS.length], "stroke-width": 2}); text(svg, W - 170, m.t + 16 + 14 * i, `${c.channel} ${c.status} (${c.n_segments} seg.)`, {fill: COLS[i % COLS.length]}); });
    if (!d.channels.length) text(svg, 120, 190, "no channel gave a PSD in the health window", {fill: "#c0392b"});
  }

  function charts() {
    const box = document.getElementById("charts"), s = st.series, keys = ["latency", "availability", "gap", "rms_si", "spike", "clip_pct"];
    const chans = Object.keys(s).filter(k => k !== "station");
    if (!chans.length) { box.innerHTML = '<p class="muted">no health result in the last 24 h (the health DAG or <code>seismo health</code> writes them)</p>'; return; }
    for (const key of keys) {
      if (!chans.some(c => s[c][key])) continue;
      const W = 600, H = 120, m = {l: 50, r: 10, t: 16, b: 18};
      const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, class: "chart"}); box.appendChild(svg);
      const all = chans.flatMap(c => (s[c][key] || []).filter(v => v != null)), ts = chans.flatMap(c => s[c].time);
      let lo = Math.min(...all), hi = Math.max(...all); if (hi === lo) { hi += 1; lo -= 1; }
      const t0 = Math.min(...ts), t1 = Math.max(...ts) || t0 + 1;
      const X = t => m.l + (t - t0) / Math.max(1, t1 - t0) * (W - m.l - m.r), Y = v => m.t + (hi - v) / (hi - lo) * (H - m.t - m.b);
      el("rect", {x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, fill: "#fff", stroke: "#bbb"}, svg);
      text(svg, m.l, 12, key, {"font-weight": "bold"}); text(svg, 2, m.t + 8, hi.toPrecision(3)); text(svg, 2, H - m.b, lo.toPrecision(3));
      text(svg, m.l, H - 4, utc(t0).slice(5, 16)); text(svg, W - 110, H - 4, utc(t1).slice(5, 16));
      chans.forEach((c, i) => { const v = s[c][key]; if (!v) return;
        el("polyline", {fill: "none", stroke: COLS[i % COLS.length], "stroke-width": 1.5, points: s[c].time.map((t, j) => v[j] == null ? "" : `${X(t)},${Y(v[j])}`).join(" ")}, svg);
        text(svg, W - 80, m.t + 10 + 11 * i, c, {fill: COLS[i % COLS.length], "font-size": 9}); });
    }
  }
  charts(); psd();
})();
