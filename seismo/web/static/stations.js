// Station wall and map; polls /api/stations every 2 x [web] poll_s.
"use strict";
(function () {
  let map = null, layer = null;
  async function refresh() {
    const d = await api("/api/stations");
    const hb = d.stream, el = document.getElementById("heartbeat");
    el.textContent = "real-time stream: " + (hb.up === true ? "up" : hb.up === false ? "DOWN" : "not monitored") + (hb.detail ? " — " + hb.detail : "");
    el.className = "hb " + (hb.up === true ? "ok" : hb.up === false ? "fail" : "");
    const c = d.counts;
    document.getElementById("counts").innerHTML = ["OK", "WARN", "FAIL", "UNKNOWN"].filter(k => c[k]).map(k => `<span class="status st-${k}">${c[k]} ${k}</span>`).join(" ");
    const latest = d.stations.map(s => s.time).filter(Boolean).sort().pop();
    document.getElementById("updated").textContent = (latest ? `health run of ${latest.slice(11, 16)} UTC (${Math.round(d.window_s / 60)} min window) · ` : "") + "updated " + d.now.slice(11, 19) + " UTC";
    const order = {FAIL: 0, WARN: 1, UNKNOWN: 2, OK: 3};
    document.getElementById("wall").innerHTML = [...d.stations].sort((a, b) => order[a.status] - order[b.status] || a.id.localeCompare(b.id)).map(s => `<a class="tile t-${s.status}" data-id="${esc(s.id)}" title="${esc(s.reasons.join("; "))}" href="${ROOT}/stations/${encodeURIComponent(s.id)}">
      <b>${esc(s.id)}</b> <span class="st">${s.status}</span><br><small>${esc(s.name)}</small>
      <div class="m">lat. ${num(s.latency_s, 1)} s · avail. ${num(s.availability_pct, 1)} % · gaps ${num(s.gap_s, 1)} s</div>
      <div class="why">${s.reasons.map(esc).join("<br>")}</div></a>`).join("");
    if (map) {
      if (layer) layer.remove();
      layer = L.layerGroup().addTo(map);
      for (const s of d.stations) stationMarker(s.latitude, s.longitude, STATUS_COLOURS[s.status], s.id).bindTooltip(`${s.id} ${s.status}${s.reasons.length ? ": " + s.reasons.join("; ") : ""}`)
        .on("click", () => { location.href = ROOT + "/stations/" + encodeURIComponent(s.id); }).addTo(layer);
    }
  }
  (async () => {
    const net = await api("/api/network"), me = await api("/api/me");
    const [la0, la1, lo0, lo1] = net.region;
    map = await baseMap(document.getElementById("map"), [[la0, lo0], [la1, lo1]]);
    await refresh(); setInterval(refresh, me.poll_s * 2000);
  })();
})();
