// Statistics on the map (研判): pick a level and a metric, and the units of the account's area
// are shaded by the quantile class breaks /stats gives with them (the legend lists the classes);
// a click on a shaded unit lists its figures. Statistics are for accounts: signed out, the panel
// says so.

import { el } from './panels.js';
import { authed, token } from './account.js';
import { api } from './crs.js';
import { lines, stackedBars } from './charts.js';

// Five classes, light to dark (ColorBrewer YlOrRd), and units with nothing to divide by.
export const CLASS_COLORS = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'];
export const NO_DATA = '#d0d0d0';
const LEVELS = [['town', '镇街 town'], ['village', '村社区 village'], ['grid', '网格 grid']];
const EMPTY = { type: 'FeatureCollection', features: [] };
const FRESH_MS = 60_000;

// The fill colour of a unit for `metric`: its class's colour, grey without a value.
function fillColor(metric, breaks) {
  // One class (every unit alike, or one unit): no stops, which `step` refuses.
  if (breaks.length === 0) return ['case', ['==', ['get', metric], null], NO_DATA, CLASS_COLORS[0]];
  const step = ['step', ['to-number', ['get', metric]], CLASS_COLORS[0]];
  breaks.forEach((b, i) => step.push(b, CLASS_COLORS[i + 1]));
  return ['case', ['==', ['get', metric], null], NO_DATA, step];
}

const figure = (v) => (typeof v !== 'number' ? v ?? '–' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6))));

// The legend's rows: each class's colour and range, then "no data".
export function legendRows(breaks) {
  const rows = [];
  for (let k = 0; k <= breaks.length; k += 1) {
    const range = breaks.length === 0 ? 'all'
      : k === 0 ? `< ${figure(breaks[0])}`
        : k === breaks.length ? `≥ ${figure(breaks[k - 1])}`
          : `${figure(breaks[k - 1])} – ${figure(breaks[k])}`;
    rows.push(el('li', { 'data-class': k }, el('span', { class: 'swatch swatch-fill', style: `background: ${CLASS_COLORS[k]}` }), ` ${range}`));
  }
  rows.push(el('li', { 'data-class': 'none' }, el('span', { class: 'swatch swatch-fill', style: `background: ${NO_DATA}` }), ' 无数据 no data'));
  return rows;
}

// The box around the units: [[west, south], [east, north]], or null.
export function bounds(collection) {
  let box = null;
  for (const f of collection.features) {
    for (const polygon of f.geometry?.coordinates || []) {
      for (const [x, y] of polygon[0]) {
        box = box ? [[Math.min(box[0][0], x), Math.min(box[0][1], y)], [Math.max(box[1][0], x), Math.max(box[1][1], y)]] : [[x, y], [x, y]];
      }
    }
  }
  return box;
}

// The trend over the months of the cases on record, for the units of `level`: events by
// category per month over the account's area, and the on-time share of each unit per month.
export async function trendCharts(level, categories, options = {}) {
  const metrics = ['on_time_share', ...categories.map((c) => `events_${c.id}`)];
  const res = await fetch(`stats/trend?level=${level}&interval=month&metrics=${metrics.join(',')}`, authed());
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${res.status}: ${body.message || 'refused'}`);
  const labels = body.periods.map((p) => p.label);
  const byCategory = categories.map((c) => ({ id: c.id, name: c.label, values: body.total[`events_${c.id}`] }));
  const onTime = body.units.map((u) => ({ id: u.code, name: u.name, values: u.values.on_time_share }));
  return {
    body,
    figures: [
      stackedBars('每月事件（按类别） Events by category per month', labels, byCategory, options),
      lines('按期办结率 On-time share per month', labels, onTime, { yMax: 1, ...options }),
    ],
  };
}

// The panel in `container`; call `addLayers` once the style has loaded. `pick(point)` shows the
// figures of the shaded unit at a screen point and says whether there was one. `categories` are
// the event categories ({ id, label }) the trend charts split events by.
export function statsPanel(map, container, categories = []) {
  const level = el('select', { id: 'stats-level', 'aria-label': 'level' }, ...LEVELS.map(([v, l]) => el('option', { value: v }, l)));
  const metric = el('select', { id: 'stats-metric', 'aria-label': 'metric' });
  const status = el('p', { id: 'stats-status', class: 'summary' });
  const legend = el('ul', { id: 'stats-legend', class: 'stats-legend' });
  const clear = el('button', { type: 'button', id: 'stats-clear' }, '清除 Clear');
  const charts = el('div', { id: 'stats-charts', class: 'stats-charts' });
  container.append(el('label', {}, '层级 Level ', level), el('label', {}, '指标 Metric ', metric), clear, status, legend, charts);
  let shown = null;
  let loaded = false;

  // Every metric of a level comes in one answer: switching the metric only repaints. Answers
  // older than a minute are asked again (a command centre's screen stays open all day).
  const answers = new Map();
  async function answer(lvl) {
    const kept = answers.get(lvl);
    if (kept && performance.now() - kept.at < FRESH_MS) return kept.body;
    const res = await fetch(api(`stats?level=${lvl}&f=geojson`), authed());
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${res.status}: ${body.message || 'refused'}`);
    answers.set(lvl, { at: performance.now(), body });
    return body;
  }

  let latest = 0;
  async function shade() {
    if (!metric.value) return;
    const asked = ++latest;
    status.textContent = '…';
    let body;
    try {
      body = await answer(level.value);
    } catch (e) {
      status.textContent = e.message;
      return;
    }
    if (asked !== latest) return; // a later choice is being shown
    const breaks = body.breaks[metric.value] || [];
    map.getSource('stats').setData(body);
    map.setPaintProperty('stats-fill', 'fill-color', fillColor(metric.value, breaks));
    for (const id of ['stats-fill', 'stats-line']) map.setLayoutProperty(id, 'visibility', 'visible');
    legend.replaceChildren(...legendRows(breaks));
    status.textContent = `${body.features.length} units · ${metric.value}`;
    shown = { level: level.value, metric: metric.value, breaks, units: body.features.length, bounds: bounds(body) };
    window.gridmap.stats = shown;
  }

  // The metric names come from /stats itself (the event categories are configurable). The
  // first level the account's area holds units of is shown: a village's staff get no towns.
  async function load() {
    if (loaded) return;
    const opened = performance.now();
    let names;
    let refusal;
    for (const [lvl] of LEVELS) {
      try {
        names = Object.keys((await answer(lvl)).breaks);
        level.value = lvl;
        break;
      } catch (e) {
        refusal = e;
      }
    }
    if (!names) {
      status.textContent = refusal.message;
      return;
    }
    loaded = true;
    metric.replaceChildren(...names.map((m) => el('option', { value: m }, m)));
    metric.value = names.includes('on_time_share') ? 'on_time_share' : names[0];
    await shade();
    // For the benchmark: from opening the panel to the first shaded frame.
    map.once('idle', () => { window.gridmap.firstShadingMs = performance.now() - opened; });
    // The trend, at the level first shown, below the legend.
    try {
      const trend = await trendCharts(level.value, categories);
      charts.replaceChildren(...trend.figures);
      window.gridmap.trend = { level: level.value, periods: trend.body.periods.length };
    } catch (e) {
      charts.replaceChildren(el('p', { class: 'summary' }, `trend: ${e.message}`));
    }
  }

  level.addEventListener('change', shade);
  metric.addEventListener('change', shade);
  clear.addEventListener('click', () => {
    for (const id of ['stats-fill', 'stats-line']) map.setLayoutProperty(id, 'visibility', 'none');
    legend.replaceChildren();
    status.textContent = '';
    shown = null;
    window.gridmap.stats = null;
  });

  return {
    // Shade `lvl` by `m` (the big screen's choice); the answer shaded, with its breaks.
    async show(lvl, m) {
      await load();
      if (!loaded) throw new Error(status.textContent);
      level.value = lvl;
      metric.value = m;
      await shade();
      return (await answer(lvl));
    },
    addLayers() {
      map.addSource('stats', { type: 'geojson', data: EMPTY });
      map.addLayer({ id: 'stats-fill', type: 'fill', source: 'stats', layout: { visibility: 'none' }, paint: { 'fill-color': NO_DATA, 'fill-opacity': 0.75 } });
      map.addLayer({ id: 'stats-line', type: 'line', source: 'stats', layout: { visibility: 'none' }, paint: { 'line-color': '#555', 'line-width': 0.6 } });
    },
    // Opening the panel shades the first metric; signed out it says why nothing comes.
    open() {
      if (!token()) {
        status.textContent = '统计仅对登录账号开放 Statistics are for accounts: sign in first';
        return;
      }
      load();
    },
    pick(point) {
      if (!shown) return false;
      const [unit] = map.queryRenderedFeatures(point, { layers: ['stats-fill'] });
      if (!unit) return false;
      const rows = Object.entries(unit.properties)
        .filter(([k]) => k !== 'code' && k !== 'name')
        .map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, figure(v === 'null' ? null : v))));
      const html = el('div', { class: 'popup stats-popup' }, el('h3', {}, unit.properties.name), el('p', { class: 'popup-kind' }, unit.properties.code), el('table', {}, ...rows));
      new maplibregl.Popup({ maxWidth: '320px' }).setLngLat(map.unproject(point)).setDOMContent(html).addTo(map);
      return true;
    },
  };
}
