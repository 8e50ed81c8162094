// Station wall and map; polls /api/stations.
"use strict";
(function () {
  let map = null, layer = null;
  async function refresh() {
    const d = await api("/api/stations");
    const hb = d.stream, el = document.getElementById("heartbeat");
    el.textContent = "real-time stream: " + (hb.up === true ? "up" : hb.up === false ? "DOWN" : "not monitored") + (hb.detail ? " — " + hb.detail : "");
    el.className = "hb " + (hb.up === true ? "ok" : hb.up === false ? "fail" : "");
    document.getElementById("wall").innerHTML = d.stations.map(s => `<a class="tile t-${s.status}" href="${ROOT}/stations/${encodeURIComponent(s.id)}">
      <b>${esc(s.id)}</b> <span class="st">${s.status}</span><br><small>${esc(s.name)}</small>
      <div class="m">latency ${num(s.latency_s, 1)} s · avail. ${num(s.availability_pct, 1)} % · gaps ${s.gaps == null ? "–" : s.gaps}</div>
      <div class="why">${s.reasons.map(esc).join("<br>")}</div></a>`).join("");
    document.getElementById("updated").textContent = "updated " + d.now.slice(11, 19) + " UTC";
    if (map) {
      if (layer) layer.remove();
      layer = L.layerGroup().addTo(map);
      for (const s of d.stations) stationMarker(s.latitude, s.longitude, STATUS_COLOURS[s.status], s.id).bindTooltip(`${s.id} ${s.status}`)
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
