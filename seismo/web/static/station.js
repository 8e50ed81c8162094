// One station: noise PSD now and its probability density (the health check's PPSD), and
// the health history from the store's station_health measurement (SVG, no library).
"use strict";
(function () {
  const st = JSON.parse(document.getElementById("stdata").textContent);
  const NS = "http://www.w3.org/2000/svg";
  function el(tag, attrs, parent) { const e = document.createElementNS(NS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); if (parent) parent.appendChild(e); return e; }
  function text(parent, x, y, s, extra) { const t = el("text", Object.assign({x: x, y: y, "font-size": 11}, extra || {}), parent); t.textContent = s; return t; }
  function title(node, s) { el("title", {}, node).textContent = s; return node; }
  const COLS = ["#c0392b", "#2471a3", "#1e8449", "#8e44ad", "#d35400", "#117a65"];
  const STATUS = {OK: "#1e8449", WARN: "#d4ac0d", FAIL: "#c0392b"};

  // ---------------------------------------------------------------- noise axes (shared)
  const W = 640, H = 380, m = {l: 56, r: 14, t: 12, b: 38};
  const X = p => m.l + (Math.log10(p) + 2) / 4.5 * (W - m.l - m.r);   // 0.01 .. 316 s
  const Y = db => m.t + (-50 - db) / 150 * (H - m.t - m.b);           // -50 .. -200 dB
  function axes(svg) {
    svg.innerHTML = "";
    el("rect", {x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, fill: "#fff", stroke: "#555"}, svg);
    for (const p of [0.01, 0.1, 1, 10, 100]) { el("line", {x1: X(p), x2: X(p), y1: m.t, y2: H - m.b, stroke: "#e3e3e3"}, svg); text(svg, X(p) - 10, H - m.b + 14, String(p)); }
    for (let db = -200; db <= -50; db += 25) { el("line", {x1: m.l, x2: W - m.r, y1: Y(db), y2: Y(db), stroke: "#eee"}, svg); text(svg, 14, Y(db) + 4, String(db)); }
    text(svg, W / 2 - 30, H - 6, "period (s)");
    const yl = text(svg, 0, 0, "dB re 1 (m/s²)²/Hz"); yl.setAttribute("transform", `translate(11, ${H / 2 + 50}) rotate(-90)`);
  }
  function line(svg, xs, ys, attrs) { return el("polyline", Object.assign({fill: "none", points: xs.map((x, i) => ys[i] == null ? "" : `${X(x).toFixed(1)},${Y(ys[i]).toFixed(1)}`).join(" ")}, attrs), svg); }
  function models(svg, d) {
    line(svg, d.models.periods_s, d.models.nlnm, {stroke: "#555", "stroke-dasharray": "5 3"});
    line(svg, d.models.periods_s, d.models.nhnm, {stroke: "#555", "stroke-dasharray": "2 3"});
    text(svg, X(0.012), Y(d.models.nhnm[2]) - 5, "NHNM", {fill: "#555", "font-size": 10});
    text(svg, X(0.012), Y(d.models.nlnm[2]) + 13, "NLNM", {fill: "#555", "font-size": 10});
  }
  const span = s => s >= 3600 ? `${(s / 3600).toFixed(s % 3600 ? 1 : 0)} h` : `${Math.round(s / 60)} min`;
  function when(d) { return d.start ? `${d.start.slice(0, 10)} ${d.start.slice(11, 16)}–${d.end.slice(11, 16)} UTC` : ""; }
  function busy(svg, msg) { svg.innerHTML = ""; text(svg, 150, 190, msg, {fill: "#777"}); }
  function failed(svg, msg) { svg.innerHTML = ""; text(svg, 30, 190, msg, {fill: "#c0392b"}); }

  async function psdNow() {
    const svg = document.getElementById("psd");
    busy(svg, "computing the PSD from the station's feed…");
    let d;
    try { d = await api(`/api/stations/${encodeURIComponent(st.id)}/psd`); } catch (err) { failed(svg, "no PSD: " + err.message); return; }
    axes(svg); models(svg, d);
    document.getElementById("psd-when").textContent = `${when(d)} (health window, ${span(d.span_s)})`;
    d.channels.forEach((c, i) => {
      const col = COLS[i % COLS.length];
      if (c.periods_s) line(svg, c.periods_s, c.db, {stroke: col, "stroke-width": 2});
      text(svg, W - 230, m.t + 16 + 14 * i, `${c.channel}  ${c.status}  ${c.n_segments ? "median of " + c.n_segments + " segments" : "no PSD"}`, {fill: col});
    });
    if (!d.channels.some(c => c.periods_s)) text(svg, 120, 190, "no channel gave a PSD in the health window", {fill: "#c0392b"});
  }

  // percent of segments -> colour (white, blue, cyan, green, yellow, red: as PQLX draws PDFs)
  const RAMP = [[0, [255, 255, 255]], [0.05, [170, 200, 255]], [0.2, [40, 90, 230]], [0.4, [0, 200, 230]], [0.6, [40, 200, 60]], [0.8, [250, 220, 0]], [1, [220, 30, 20]]];
  function ramp(f) {
    for (let k = 1; k < RAMP.length; k++) if (f <= RAMP[k][0]) {
      const [a, ca] = RAMP[k - 1], [b, cb] = RAMP[k], u = (f - a) / (b - a);
      return `rgb(${ca.map((v, i) => Math.round(v + u * (cb[i] - v))).join(",")})`;
    }
    return "rgb(220,30,20)";
  }
  let pdfData = null;
  function drawPdf(k) {
    const svg = document.getElementById("pdf"), c = pdfData.channels[k];
    axes(svg);
    document.querySelectorAll("#pdf-chans button").forEach((b, i) => b.classList.toggle("on", i === k));
    if (!c || !c.pdf) { text(svg, 120, 190, `${c ? c.channel : ""}: no PSD segment in the span`, {fill: "#c0392b"}); models(svg, pdfData); return; }
    const p = c.periods_s, e = c.pdf.db_edges, edges = p.map((x, i) => i ? Math.sqrt(x * p[i - 1]) : x / Math.sqrt(p[1] / p[0]));
    edges.push(p[p.length - 1] * Math.sqrt(p[p.length - 1] / p[p.length - 2]));
    const top = Math.max(...c.pdf.cells.map(q => q[2]), 1);
    const g = el("g", {}, svg);
    for (const [i, j, pct] of c.pdf.cells) {
      const x0 = X(edges[i]), x1 = X(edges[i + 1]), y0 = Y(e[j + 1]), y1 = Y(e[j]);
      el("rect", {x: x0.toFixed(1), y: y0.toFixed(1), width: Math.max(0.6, x1 - x0).toFixed(1), height: Math.max(0.6, y1 - y0).toFixed(1), fill: ramp(pct / top)}, g);
    }
    models(svg, pdfData);
    line(svg, p, c.pdf.mode_db, {stroke: "#000", "stroke-width": 1, "stroke-dasharray": "1 2"});
    line(svg, p, c.db, {stroke: "#000", "stroke-width": 1.5});
    text(svg, W - 250, m.t + 16, `${c.channel}: ${c.n_segments} segments of ${span(pdfData.segment_s)}`);
    text(svg, W - 250, m.t + 30, "solid: median · dotted: mode", {fill: "#555", "font-size": 10});
    // colour bar: percent of segments per period bin
    const bx = m.l + 12, by = H - m.b - 22;
    text(svg, bx, by - 4, "share of segments per period", {"font-size": 9});
    for (let q = 0; q < 50; q++) el("rect", {x: bx + q * 2.4, y: by, width: 2.5, height: 8, fill: ramp(q / 49)}, svg);
    text(svg, bx, by + 18, "0", {"font-size": 9}); text(svg, bx + 108, by + 18, `${top.toFixed(0)} %`, {"font-size": 9});
  }
  async function pdf() {
    const svg = document.getElementById("pdf");
    busy(svg, `computing the probability density over the last ${span(st.pdf_span_s)}…`);
    try { pdfData = await api(`/api/stations/${encodeURIComponent(st.id)}/psd?span_s=${st.pdf_span_s}`); } catch (err) { failed(svg, "no PDF: " + err.message); return; }
    document.getElementById("pdf-when").textContent = when(pdfData);
    const bar = document.getElementById("pdf-chans");
    bar.innerHTML = pdfData.channels.map((c, i) => `<button data-k="${i}">${esc(c.channel)}</button>`).join("");
    bar.querySelectorAll("button").forEach(b => b.onclick = () => drawPdf(Number(b.dataset.k)));
    const z = pdfData.channels.findIndex(c => /Z$/.test(c.channel));
    drawPdf(z >= 0 ? z : 0);
  }

  // ---------------------------------------------------------------- health over time
  const CHARTS = [["latency", "latency (s)"], ["availability", "availability (%)"], ["gap", "gaps (count)"],
    ["rms_si", "rms (m/s or m/s², SI)"], ["spike", "spikes (count)"], ["clip_pct", "clipped samples (%)"],
    ["psd_minus_nhnm_db_0.1-1s", "PSD − NHNM, 0.1–1 s (dB)"], ["psd_minus_nhnm_db_1-10s", "PSD − NHNM, 1–10 s (dB)"]];
  function charts() {
    const box = document.getElementById("charts"), s = st.series;
    const chans = Object.keys(s).filter(k => k !== "station");
    // the time axis: from the first health run (less one window) to now, at most st.hours
    const ts = Object.values(s).flatMap(v => v.time), t1 = st.until;
    const t0 = Math.max(st.since, Math.min(...ts) - 0.25 * Math.max(600, t1 - Math.min(...ts)));
    const CW = 600, CH = 112, c = {l: 62, r: 74, t: 16, b: 18};
    const X2 = t => c.l + (t - t0) / (t1 - t0) * (CW - c.l - c.r);
    if (!s.station && !chans.length) { box.innerHTML = `<p class="muted">no health result in the last ${st.hours} h (the health DAG or <code>seismo health</code> writes them)</p>`; return; }
    // the station's status at each health run, with its reasons on hover
    if (s.station) {
      const sv = el("svg", {viewBox: `0 0 ${CW} 46`, class: "chart", id: "status-strip"}); box.appendChild(sv);
      text(sv, c.l, 12, `status at each health run (${s.station.time.length} in the last ${st.hours} h; hover for the reasons)`, {"font-weight": "bold"});
      el("rect", {x: c.l, y: 18, width: CW - c.l - c.r, height: 14, fill: "#f4f6f6", stroke: "#ccc"}, sv);
      const w = Math.max(3, (CW - c.l - c.r) / Math.max(1, (t1 - t0) / st.window_s) * 0.9);
      s.station.time.forEach((t, i) => title(el("rect", {x: X2(t) - w, y: 18, width: w, height: 14, fill: STATUS[s.station.status[i]] || "#7f8c8d", class: "run"}, sv),
        `${utc(t)} UTC: ${s.station.status[i]}${s.station.reasons[i] ? " — " + s.station.reasons[i] : ""}`));
      text(sv, c.l, 44, utc(t0).slice(5, 16), {"font-size": 9}); text(sv, CW - c.r - 62, 44, utc(t1).slice(5, 16), {"font-size": 9});
    }
    for (const [key, label] of CHARTS) {
      if (!chans.some(k => (s[k][key] || []).some(v => v != null))) continue;
      const svg = el("svg", {viewBox: `0 0 ${CW} ${CH}`, class: "chart"}); box.appendChild(svg);
      const all = chans.flatMap(k => (s[k][key] || []).filter(v => v != null));
      let lo = Math.min(...all), hi = Math.max(...all);
      if (hi - lo < 1e-12) { const d = Math.abs(hi) * 0.1 || 1; hi += d; lo -= d; }
      const Y2 = v => c.t + (hi - v) / (hi - lo) * (CH - c.t - c.b);
      el("rect", {x: c.l, y: c.t, width: CW - c.l - c.r, height: CH - c.t - c.b, fill: "#fff", stroke: "#bbb"}, svg);
      text(svg, c.l, 12, label, {"font-weight": "bold"});
      text(svg, 2, c.t + 8, Number(hi.toPrecision(3)).toString(), {"font-size": 10}); text(svg, 2, CH - c.b, Number(lo.toPrecision(3)).toString(), {"font-size": 10});
      text(svg, c.l, CH - 4, utc(t0).slice(5, 16), {"font-size": 9}); text(svg, CW - c.r - 62, CH - 4, utc(t1).slice(5, 16), {"font-size": 9});
      chans.forEach((k, i) => {
        const v = s[k][key]; if (!v) return;
        const col = COLS[i % COLS.length], pts = s[k].time.map((t, j) => v[j] == null ? null : [X2(t), Y2(v[j])]).filter(Boolean);
        el("polyline", {fill: "none", stroke: col, "stroke-width": 1.5, points: pts.map(q => q.join(",")).join(" ")}, svg);
        s[k].time.forEach((t, j) => { if (v[j] != null) title(el("circle", {cx: X2(t), cy: Y2(v[j]), r: 2.6, fill: col}, svg), `${k} ${utc(t)} UTC: ${v[j]}`); });
        text(svg, CW - c.r + 6, c.t + 10 + 11 * i, k, {fill: col, "font-size": 9});
      });
    }
  }
  charts(); psdNow().then(pdf);
})();
