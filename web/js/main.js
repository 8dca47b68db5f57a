// The one-map page: builds the map from /tiles.json and /map/config.json, then wires the panel.
// Every URL is relative to the page, so gridmap can sit behind a proxy under a path prefix.

import { FONT, GROUPS, declaredClickable, declaredGroups, drawPost } from './style.js';
import { addClickable, applyVisibility, layerSwitcher, legend, pickFeature, showPopup } from './panels.js';
import { coverageControl, nearestTool, searchBox } from './tools.js';
import { signIn, token, transformRequest } from './account.js';
import { EVENTS_GROUP, refreshEventTiles, reportForm, worklist } from './events.js';
import { statsPanel } from './stats.js';
import { impactTool } from './impact.js';
import { bigScreen, screenWanted } from './screen.js';
import { setCrs } from './crs.js';

const EMPTY = { type: 'FeatureCollection', features: [] };

// The visible groups live in the URL next to MapLibre's own `map=zoom/lat/lon[/bearing/pitch]`:
// /map#map=13/31.95/119.57&layers=towns,villages,stations (a plain #13/31.95/119.57 works too)
function hashParam(name) {
  for (const part of window.location.hash.slice(1).split('&')) {
    const [key, value] = part.split('=');
    if (key === name) return decodeURIComponent(value ?? '');
  }
  return null;
}

function setHashParam(name, value) {
  const parts = window.location.hash.slice(1).split('&').filter((p) => p && p.split('=')[0] !== name);
  parts.push(`${name}=${value}`);
  window.history.replaceState(window.history.state, '', `#${parts.join('&')}`);
}

// A link in MapLibre's plain form (`#zoom/lat/lon[/bearing[/pitch]]`, what `hash: true` writes
// and other maps share) is rewritten to the `map=` form before the map reads it.
function acceptPlainHash() {
  const parts = window.location.hash.slice(1).split('&');
  if (!/^-?\d+(\.\d+)?(\/-?\d+(\.\d+)?){2,4}$/.test(parts[0] ?? '')) return;
  parts[0] = `map=${parts[0]}`;
  window.history.replaceState(window.history.state, '', `#${parts.join('&')}`);
}
acceptPlainHash();

async function getConfig(url) {
  const res = await fetch(url);
  if (!res.ok) {
    document.querySelector('#panel header p').textContent = `${url}: ${res.status}; is gridmap running?`;
    throw new Error(`${url}: ${res.status}`);
  }
  return res.json();
}

// The page draws the tile set of its basemap's datum (GCJ-02 over AMap or Tencent).
const config = await getConfig('map/config.json');
setCrs(config.crs);
const sets = config.crs === 'gcj02' ? ['tiles/gcj02.json', 'tiles/gcj02/events.json'] : ['tiles.json', 'tiles/events.json'];
const [tilejson, eventTiles] = await Promise.all(sets.map(getConfig));

// The declared layers join the switcher, the legend and the popups.
const declared = declaredGroups(config.declared || []);
GROUPS.push(...declared);
// Events above everything else; shown by default to accounts (their area's cases).
GROUPS.push({ ...EVENTS_GROUP, on: Boolean(token()) });
addClickable(declaredClickable(declared));

const listed = hashParam('layers');
const visible = new Set(listed === null ? GROUPS.filter((g) => g.on).map((g) => g.id) : listed.split(',').filter(Boolean));

const base = {
  version: 8,
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f7f5f0' } }],
};
if (config.basemap?.type === 'raster') {
  base.sources.basemap = { type: 'raster', tiles: config.basemap.tiles, tileSize: 256, attribution: config.basemap.attribution };
  base.layers.push({ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.8 } });
}

const map = new maplibregl.Map({
  container: 'map',
  style: config.basemap?.type === 'style' ? config.basemap.url : base,
  hash: 'map',
  bounds: hashParam('map') ? undefined : tilejson.bounds,
  fitBoundsOptions: { padding: 20 },
  maxZoom: 19,
  attributionControl: { compact: false },
  // Signed in, the tiles carry the account's area's fields.
  transformRequest,
});
window.map = map;
const stats = statsPanel(map, document.getElementById('stats'), config.events?.categories || []);
const impact = impactTool(map, document.getElementById('impact'));
map.addControl(new maplibregl.NavigationControl(), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');

map.on('styleimagemissing', (e) => {
  if (!e.id.startsWith('post:') || map.hasImage(e.id)) return;
  const { image, pixelRatio } = drawPost(e.id.slice('post:'.length));
  map.addImage(e.id, image, { pixelRatio });
});

map.once('style.load', () => {
  map.addSource('gridmap', {
    type: 'vector', tiles: tilejson.tiles, bounds: tilejson.bounds,
    minzoom: tilejson.minzoom, maxzoom: tilejson.maxzoom, attribution: tilejson.attribution,
  });
  map.addSource('events', {
    type: 'vector', tiles: eventTiles.tiles, bounds: eventTiles.bounds,
    minzoom: eventTiles.minzoom, maxzoom: eventTiles.maxzoom,
  });
  for (const id of ['gaps', 'nearest', 'highlight', 'report-point']) map.addSource(id, { type: 'geojson', data: EMPTY });
  for (const group of GROUPS) for (const layer of group.layers) map.addLayer({ source: 'gridmap', ...layer });
  map.addLayer({ id: 'gaps-overlay-fill', type: 'fill', source: 'gaps', paint: { 'fill-color': '#b3122e', 'fill-opacity': 0.35 } });
  map.addLayer({ id: 'gaps-overlay-line', type: 'line', source: 'gaps', paint: { 'line-color': '#b3122e', 'line-width': 1 } });
  map.addLayer({ id: 'nearest-line', type: 'line', source: 'nearest', filter: ['==', ['geometry-type'], 'LineString'], paint: { 'line-color': '#0b5cad', 'line-width': 2, 'line-dasharray': [2, 1] } });
  stats.addLayers();
  impact.addLayers();
  for (const layer of ['towns', 'villages', 'grids']) {
    map.addLayer({ id: `highlight-${layer}`, type: 'line', source: 'gridmap', 'source-layer': layer, filter: ['==', ['get', 'code'], ''],
      paint: { 'line-color': '#e4572e', 'line-width': 4, 'line-opacity': 0.9 } });
  }
  for (const group of GROUPS) for (const layer of group.labels || []) map.addLayer({ source: 'gridmap', ...layer });
  map.addLayer({ id: 'report-point', type: 'circle', source: 'report-point', paint: { 'circle-radius': 8, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#d7191c', 'circle-stroke-width': 3 } });
  map.addLayer({ id: 'nearest-rank', type: 'symbol', source: 'nearest', filter: ['==', ['geometry-type'], 'LineString'],
    layout: { 'symbol-placement': 'line-center', 'text-field': ['to-string', ['get', 'rank']], 'text-font': FONT, 'text-size': 12 },
    paint: { 'text-color': '#0b5cad', 'text-halo-color': '#fff', 'text-halo-width': 2 } });
  map.addLayer({ id: 'nearest-origin', type: 'circle', source: 'nearest', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 6, 'circle-color': '#0b5cad', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  map.addLayer({ id: 'highlight', type: 'circle', source: 'highlight', paint: { 'circle-radius': 12, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#e4572e', 'circle-stroke-width': 3 } });
  applyVisibility(map, visible);
  if (screenWanted()) bigScreen(map, stats, config.events?.categories || []);
});

const remember = () => setHashParam('layers', GROUPS.filter((g) => visible.has(g.id)).map((g) => g.id).join(','));
map.on('moveend', remember);
layerSwitcher(map, document.getElementById('layers'), visible, remember);
legend(document.getElementById('legend'));
signIn(document.getElementById('account'));
searchBox(map, document.getElementById('search-box'));
const nearest = nearestTool(map, document.getElementById('nearest'));
coverageControl(map, document.getElementById('coverage'), config, (shown) => {
  // The overlay replaces the 500 m gaps from the tiles while it is shown.
  const box = document.getElementById('layer-coverage_gaps');
  if (box.checked === shown) box.click();
});

const statsBox = document.getElementById('stats-box');
statsBox.addEventListener('toggle', () => { if (statsBox.open) stats.open(); });

const work = worklist(map, document.getElementById('worklist-box'));
const report = reportForm(map, document.getElementById('report'), config.events, () => {
  work.reload();
  refreshEventTiles(map);
});

map.on('click', (e) => {
  if (impact.active) {
    impact.pick(e.lngLat, e.point);
    return;
  }
  if (report.active) {
    report.pick(e.lngLat);
    return;
  }
  if (nearest.active) {
    nearest.pick(e.lngLat);
    return;
  }
  if (stats.pick(e.point)) return;
  const picked = pickFeature(map, e.point);
  if (picked) showPopup(map, picked, e.lngLat);
});

// For tests and the console: resolves on the first fully rendered frame, with the time since
// navigation started (the page, MapLibre, the style and the first tiles).
window.gridmap = {
  ready: new Promise((resolve) => map.once('idle', () => {
    window.gridmap.firstRenderMs = performance.now();
    resolve(window.gridmap.firstRenderMs);
  })),
};
