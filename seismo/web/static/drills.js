// Drills: start a scenario as an Exercise and watch it go through.
"use strict";
(function () {
  async function refresh() {
    const d = await api("/api/drills");
    const sel = document.getElementById("scenario");
    if (sel && !sel.options.length) sel.innerHTML = d.scenarios.map(s => `<option>${esc(s)}</option>`).join("");
    document.querySelector("#drills tbody").innerHTML = d.drills.map(x => `<tr><td>${x.id}</td><td>${esc(x.scenario)}</td><td>${esc(x.user)}</td><td>${utc(x.started)}</td>
      <td><span class="status s-${x.state === "done" ? "confirmed" : x.state === "failed" ? "rejected" : "streaming"}">${x.state}</span></td>
      <td>${x.events.map(e => `${esc(e.time.slice(11, 19))} ${esc(e.magnitude_type)} ${num(e.magnitude, 1)} ${esc(e.place)} (${e.groups.join(", ") || "no alert"})`).join("<br>")}</td><td>${esc(x.detail)}</td></tr>`).join("")
      || '<tr><td colspan="7" class="muted">no drill started since the console started</td></tr>';
  }
  const f = document.getElementById("drillform");
  if (f) f.addEventListener("submit", async ev => { ev.preventDefault();
    try { await post("/api/drills", {scenario: document.getElementById("scenario").value}); } catch (e) { alert(e.message); } refresh(); });
  refresh(); setInterval(refresh, 3000);
})();
