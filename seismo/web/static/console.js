// seismo console: helpers shared by every page (no external request: vendored code only).
"use strict";
const ROOT = document.body.dataset.root || "";
const CSRF = document.body.dataset.csrf || "";

async function api(path) {
  const r = await fetch(ROOT + path, {credentials: "same-origin", headers: {"Accept": "application/json"}});
  if (r.status === 401) { location.href = ROOT + "/login?next=" + encodeURIComponent(location.pathname); throw new Error("signed out"); }
  const data = await r.json();
  if (!r.ok) throw new Error(data.detail || r.statusText);
  return data;
}

async function post(path, body) {
  const r = await fetch(ROOT + path, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": CSRF}, body: JSON.stringify(body || {})});
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail || r.statusText));
  return data;
}

function esc(s) { return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }
function num(x, d) { return x == null ? "–" : Number(x).toFixed(d); }
function utc(epoch) { return new Date(epoch * 1000).toISOString().replace("T", " ").slice(0, 19); }

const STATUS_COLOURS = {streaming: "#8e44ad", automatic: "#2471a3", confirmed: "#1e8449", rejected: "#7f8c8d", cancelled: "#a04000",
                        OK: "#1e8449", WARN: "#d4ac0d", FAIL: "#c0392b", UNKNOWN: "#7f8c8d"};
// GB/T 17742-2020 degrees, coloured as USGS ShakeMap colours its MMI scale (same I..X steps)
const INTENSITY_COLOURS = ["#ffffff", "#ffffff", "#bfccff", "#a0e6ff", "#80ffff", "#7aff93", "#ffff00", "#ffc800", "#ff9100", "#ff0000", "#c80000", "#800000", "#800000"];
function intensityColour(i) { return i == null || i < 1 ? "#ffffff" : INTENSITY_COLOURS[Math.min(12, Math.round(i))]; }
function roman(i) { const r = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]; return i == null ? "–" : (r[Math.max(1, Math.min(12, Math.round(i)))]); }

// Land, coastline and borders around the network: /api/basemap (Natural Earth 1:10m near
// the network, 1:50m farther out, cut by the server once; the browser caches it by ETag).
let _land = null;
async function landLayers() {
  if (!_land) _land = fetch(ROOT + "/api/basemap", {credentials: "same-origin"}).then(r => r.ok ? r.json() : null).catch(() => null);
  return _land;
}
const MAP_STYLE = {
  land: {stroke: false, fillColor: "#f4efe4", fillOpacity: 1},
  mask: {stroke: false, fillColor: "#b9d9ef", fillOpacity: 1},
  coast: {color: "#8d7f6b", weight: 1, fill: false},
  borders: {color: "#9b8f80", weight: 1, dashArray: "4 3", fill: false},
};

// A map with no tile server: sea background, then land, coastlines and borders.
async function baseMap(el, bounds) {
  if (typeof L === "undefined") {
    el.innerHTML = '<p class="warn">Map code is not installed: run scripts/setup.sh (it vendors Leaflet and world-atlas from npm).</p>';
    return null;
  }
  const map = L.map(el, {preferCanvas: true, attributionControl: false, zoomSnap: 0.25, worldCopyJump: false});
  map.fitBounds(bounds);
  const land = await landLayers();
  if (land) L.geoJSON(land, {style: f => MAP_STYLE[f.properties.kind], interactive: false}).addTo(map);
  else el.insertAdjacentHTML("afterend", '<p class="warn">No land layer (map data missing: run scripts/setup.sh).</p>');
  L.control.scale({imperial: false}).addTo(map);
  return map;
}

function stationMarker(lat, lon, colour, title) {
  const icon = L.divIcon({className: "sta", html: `<svg width="14" height="13"><polygon points="7,1 13,12 1,12" fill="${colour}" stroke="#222" stroke-width="1"/></svg>`, iconSize: [14, 13], iconAnchor: [7, 8]});
  return L.marker([lat, lon], {icon: icon, title: title});
}

function beep() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const o = ctx.createOscillator(), g = ctx.createGain();
    o.frequency.value = 880; o.connect(g); g.connect(ctx.destination);
    g.gain.setValueAtTime(0.2, ctx.currentTime); g.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.6);
    o.start(); o.stop(ctx.currentTime + 0.6);
  } catch (e) { /* no audio device */ }
}

function tickClock() { const el = document.getElementById("utc-clock"); if (el) el.textContent = new Date().toISOString().slice(0, 19).replace("T", " ") + " UTC"; }
setInterval(tickClock, 1000); tickClock();
document.querySelectorAll(".t[data-epoch]").forEach(td => { td.textContent = utc(Number(td.dataset.epoch)); });
