// The alert outbox; dead items can be re-queued (role oncall and above).
"use strict";
(function () {
  const when = i => i.created ? utc(i.created) : "";
  async function refresh() {
    const d = await api("/api/outbox"), c = d.counts;
    document.getElementById("counts").textContent = `pending ${c.pending || 0} · delivered ${c.delivered || 0} · dead ${c.dead || 0}`;
    const msg = i => `<b>${i.kind === "notice" ? "Notice" : esc(i.msg_type)}</b> ${esc(i.subject)}<br><small class="muted">${esc(i.identifier)} → ${esc(i.group)}</small>`;
    document.querySelector("#dead tbody").innerHTML = d.items.dead.map(i => `<tr><td>${esc(i.sent.slice(0, 19))}</td><td>${msg(i)}</td><td>${esc(i.channel)}</td><td>${i.attempts}</td><td class="bad">${esc(i.last_error || "")}</td>
      <td><button class="requeue" data-key="${esc(i.key)}">re-queue</button></td></tr>`).join("") || '<tr><td colspan="6" class="muted">none</td></tr>';
    document.querySelector("#pending tbody").innerHTML = d.items.pending.map(i => `<tr><td>${esc(i.sent.slice(0, 19))}</td><td>${msg(i)}</td><td>${esc(i.channel)}</td><td>${i.attempts}</td><td>${esc(i.last_error || "")}</td></tr>`).join("") || '<tr><td colspan="5" class="muted">none</td></tr>';
    document.querySelector("#delivered tbody").innerHTML = d.items.delivered.slice(0, 50).map(i => `<tr><td>${i.delivered_at ? utc(i.delivered_at) : ""}</td><td>${msg(i)}</td><td>${esc(i.channel)}</td><td>${i.attempts}</td></tr>`).join("") || '<tr><td colspan="4" class="muted">none</td></tr>';
    document.querySelectorAll("button.requeue").forEach(b => b.onclick = async () => {
      b.disabled = true; try { const r = await post(`/api/outbox/${encodeURIComponent(b.dataset.key)}/requeue`); b.textContent = `delivered ${r.delivered}`; } catch (e) { b.textContent = e.message; }
      setTimeout(refresh, 800); });
    document.getElementById("updated").textContent = "updated " + new Date().toISOString().slice(11, 19) + " UTC";
  }
  refresh(); setInterval(refresh, 10000);
})();
