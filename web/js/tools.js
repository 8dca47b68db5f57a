// The panel's tools: search, nearest posts, coverage radius. Each talks to one API endpoint
// and draws into a GeoJSON source of its own.

import { SERVICES } from './style.js';
import { el } from './panels.js';
import { api } from './crs.js';

const EMPTY = { type: 'FeatureCollection', features: [] };

export function formatDistance(m) {
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(2)} km`;
}

async function getJson(url) {
  const res = await fetch(api(url));
  const body = await res.json();
  if (!res.ok) throw new Error(body.message || body.error || `${res.status}`);
  return body;
}

function serviceSelect(id) {
  return el('select', { id }, el('option', { value: '' }, '全部服务 any service'),
    ...SERVICES.map((s) => el('option', { value: s.id }, s.label)));
}

// Search box: towns, villages, grids and posts by name or code (GET /search); picking a result
// flies there.
export function searchBox(map, container) {
  const input = el('input', { type: 'search', id: 'search', placeholder: '搜索 镇/村/网格/驿站 或代码', autocomplete: 'off', maxlength: 100 });
  const list = el('ul', { id: 'search-results', class: 'results' });
  container.append(input, list);
  let timer;
  let shown = [];
  const go = (r) => {
    // An area is outlined (its own feature in the tiles); a post is ringed.
    for (const layer of ['towns', 'villages', 'grids']) {
      map.setFilter(`highlight-${layer}`, ['==', ['get', 'code'], r.layer === layer ? r.id : '']);
    }
    const ring = r.layer === 'stations' ? [{ type: 'Feature', geometry: { type: 'Point', coordinates: r.center }, properties: {} }] : [];
    map.getSource('highlight').setData({ type: 'FeatureCollection', features: ring });
    if (r.bbox) map.fitBounds(r.bbox, { padding: 60, maxZoom: r.layer === 'grids' ? 16 : 15, duration: 800 });
    else map.flyTo({ center: r.center, zoom: 16, duration: 800 });
    list.replaceChildren();
  };
  const run = async () => {
    const q = input.value.trim();
    if (!q) { list.replaceChildren(); shown = []; return; }
    try {
      const body = await getJson(`search?q=${encodeURIComponent(q)}&limit=8`);
      if (input.value.trim() !== q) return;
      shown = body.results;
      list.replaceChildren(...shown.map((r) => el('li', { 'data-layer': r.layer, 'data-id': r.id, onclick: () => go(r) },
        el('span', { class: `badge badge-${r.layer}` }, { towns: '镇', villages: '村', grids: '网格', stations: '驿站' }[r.layer]),
        ` ${r.name}`, el('small', {}, r.context.join(' › ')))));
      if (!shown.length) list.replaceChildren(el('li', { class: 'none' }, '无结果 no match'));
    } catch (e) {
      list.replaceChildren(el('li', { class: 'none' }, e.message));
    }
  };
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(run, 150); });
  input.addEventListener('keydown', async (e) => {
    if (e.key !== 'Enter') return;
    clearTimeout(timer);
    await run();
    if (shown[0]) go(shown[0]);
  });
}

// The nearest-post tool: while active, a click on the map lists the k nearest posts from
// GET /nearest with their distances and draws a line to each.
export function nearestTool(map, container) {
  const toggle = el('button', { id: 'nearest-toggle', type: 'button', 'aria-pressed': 'false' }, '最近驿站 Nearest posts');
  const k = el('input', { id: 'nearest-k', type: 'number', min: 1, max: 20, value: 5 });
  const service = serviceSelect('nearest-service');
  const list = el('ol', { id: 'nearest-list', class: 'results' });
  container.append(toggle, el('label', {}, ' k ', k), service, list);
  const tool = {
    active: false,
    async pick(lngLat) {
      // Checked here, before asking: the browser would log the API's 400 as a console error.
      const wanted = Number(k.value);
      if (!Number.isInteger(wanted) || wanted < 1 || wanted > 20) {
        list.replaceChildren(el('li', { class: 'none' }, `k: ${k.value} is not a whole number from 1 to 20`));
        return;
      }
      const params = new URLSearchParams({ lon: lngLat.lng.toFixed(7), lat: lngLat.lat.toFixed(7), k: k.value });
      if (service.value) params.set('service', service.value);
      try {
        const body = await getJson(`nearest?${params}`);
        const from = [body.query.lon, body.query.lat];
        map.getSource('nearest').setData({
          type: 'FeatureCollection',
          features: [
            ...body.features.map((f) => ({ type: 'Feature', geometry: { type: 'LineString', coordinates: [from, f.geometry.coordinates] }, properties: { rank: f.properties.rank } })),
            { type: 'Feature', geometry: { type: 'Point', coordinates: from }, properties: { origin: true } },
          ],
        });
        list.replaceChildren(...body.features.map((f) => el('li', { 'data-id': f.properties.id },
          `${f.properties.name} `, el('small', {}, formatDistance(f.properties.distance_m)))));
        if (!body.features.length) list.replaceChildren(el('li', { class: 'none' }, '无 none'));
      } catch (e) {
        list.replaceChildren(el('li', { class: 'none' }, e.message));
      }
    },
  };
  toggle.addEventListener('click', () => {
    tool.active = !tool.active;
    toggle.setAttribute('aria-pressed', String(tool.active));
    map.getCanvas().style.cursor = tool.active ? 'crosshair' : '';
    if (!tool.active) {
      map.getSource('nearest').setData(EMPTY);
      list.replaceChildren();
    }
  });
  return tool;
}

// Coverage control: a walking radius (and service); "show" draws GET /coverage/gaps for it and
// reports the people left uncovered.
export function coverageControl(map, container, config, onShow) {
  const { default_radius_m: radius0, min_radius_m: min, max_radius_m: max } = config.coverage;
  const radius = el('input', { id: 'coverage-radius', type: 'range', min, max, step: 50, value: radius0 });
  const value = el('output', { id: 'coverage-radius-value' }, `${radius0} m`);
  const service = serviceSelect('coverage-service');
  const show = el('button', { id: 'coverage-show', type: 'button' }, '显示缺口 Show gaps');
  const clear = el('button', { id: 'coverage-clear', type: 'button' }, '清除 Clear');
  const summary = el('p', { id: 'coverage-summary', class: 'summary' });
  container.append(el('label', {}, '半径 radius ', radius, ' ', value), service, el('div', { class: 'buttons' }, show, clear), summary);
  radius.addEventListener('input', () => { value.textContent = `${radius.value} m`; });
  show.addEventListener('click', async () => {
    const params = new URLSearchParams({ radius_m: radius.value, level: 'village' });
    if (service.value) params.set('service', service.value);
    summary.textContent = '…';
    try {
      const gaps = await getJson(`coverage/gaps?${params}`);
      map.getSource('gaps').setData(gaps);
      const people = gaps.features.reduce((s, f) => s + f.properties.uncovered_population, 0);
      summary.textContent = `${radius.value} m: ${Math.round(people).toLocaleString('zh-CN')} 人未覆盖 people uncovered in ${gaps.features.length} villages`;
      onShow(true);
    } catch (e) {
      summary.textContent = e.message;
    }
  });
  clear.addEventListener('click', () => {
    map.getSource('gaps').setData(EMPTY);
    summary.textContent = '';
    onShow(false);
  });
}
