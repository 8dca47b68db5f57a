// What an emergency touches, on the map: draw a circle (pick its centre; the radius is the
// field's) or a polygon (pick its corners, then Finish), or click a risk zone; POST /impact
// answers, the grids it meets are outlined and the report is listed beside them (totals, towns,
// the nearest shelters and the shortfall); Export CSV downloads the same answer as CSV.

import { el } from './panels.js';
import { authed } from './account.js';
import { api } from './crs.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const MODES = [['circle', '圆 circle'], ['polygon', '多边形 polygon'], ['risk_zone', '风险区 risk zone']];

const n = (v) => (typeof v === 'number' ? v.toLocaleString('en') : v ?? '–');

export function impactTool(map, container) {
  const mode = el('select', { id: 'impact-mode', 'aria-label': 'area' }, ...MODES.map(([v, l]) => el('option', { value: v }, l)));
  const radius = el('input', { id: 'impact-radius', type: 'number', value: 1000, min: 1, max: 50000, step: 100, 'aria-label': 'radius in metres' });
  const start = el('button', { type: 'button', id: 'impact-start', 'aria-pressed': 'false' }, '在图上选取 Pick on the map');
  const finish = el('button', { type: 'button', id: 'impact-finish', disabled: true }, '完成 Finish');
  const csv = el('button', { type: 'button', id: 'impact-csv', disabled: true }, '导出 CSV');
  const status = el('p', { id: 'impact-status', class: 'summary' });
  const report = el('div', { id: 'impact-report' });
  container.append(el('label', {}, '范围 Area ', mode), el('label', {}, '半径 Radius (m) ', radius), start, finish, csv, status, report);
  let active = false;
  let corners = [];
  let asked = null;

  const sketch = () => {
    const points = corners.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} }));
    const line = corners.length > 1 ? [{ type: 'Feature', geometry: { type: 'LineString', coordinates: [...corners, corners[0]] }, properties: {} }] : [];
    map.getSource('impact-sketch').setData({ type: 'FeatureCollection', features: [...line, ...points] });
  };
  const setActive = (on) => {
    active = on;
    start.setAttribute('aria-pressed', String(on));
    finish.disabled = !(on && mode.value === 'polygon');
    map.getCanvas().style.cursor = on ? 'crosshair' : '';
    if (on) {
      corners = [];
      sketch();
      status.textContent = { circle: '点击圆心 Click the centre', polygon: '依次点击各顶点，然后完成 Click the corners, then Finish', risk_zone: '点击一个风险区 Click a risk zone' }[mode.value];
    }
  };

  async function assess(body) {
    asked = body;
    status.textContent = '…';
    const res = await fetch(api('impact'), authed({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) {
      status.textContent = `${res.status}: ${answer.message || 'refused'}`;
      csv.disabled = true;
      return;
    }
    const codes = answer.grids.map((g) => g.code);
    map.setFilter('impact-grids', ['in', ['get', 'code'], ['literal', codes]]);
    const t = answer.totals;
    const s = answer.shelters;
    status.textContent = `${codes.length} 网格 grids · ${(answer.area_m2 / 1e6).toFixed(3)} km²`;
    report.replaceChildren(
      el('table', { class: 'impact-totals' },
        el('tr', {}, el('th', {}, '人口 people'), el('td', { id: 'impact-people' }, n(t.people))),
        el('tr', {}, el('th', {}, '户数 households'), el('td', { id: 'impact-households' }, n(t.households))),
        el('tr', {}, el('th', {}, '驿站 posts'), el('td', {}, n(t.posts))),
        el('tr', {}, el('th', {}, '中心 centres'), el('td', {}, n(t.centres))),
        el('tr', {}, el('th', {}, `${s.within_m / 1000} km 内避难容量 shelter capacity`), el('td', {}, n(s.capacity_within))),
        el('tr', {}, el('th', {}, '缺口 shortfall'), el('td', { id: 'impact-shortfall', class: s.shortfall > 0 ? 'late' : '' }, n(s.shortfall)))),
      el('strong', {}, '镇街 Towns'),
      el('ul', { class: 'results' }, ...t.towns.map((u) => el('li', { 'data-code': u.code }, `${u.name}: ${n(u.people)} 人, ${u.grids} 网格`))),
      el('strong', {}, '最近避难场所 Nearest shelters'),
      el('ol', { class: 'results' }, ...s.nearest.map((x) => el('li', {}, `${x.name} · ${n(x.capacity)} 人 · ${(x.distance_m / 1000).toFixed(2)} km`))),
    );
    csv.disabled = false;
    window.gridmap.impact = answer;
  }

  start.addEventListener('click', () => setActive(!active));
  mode.addEventListener('change', () => setActive(false));
  finish.addEventListener('click', () => {
    if (corners.length < 3) {
      status.textContent = '至少三个顶点 A polygon needs three corners';
      return;
    }
    const ring = [...corners, corners[0]];
    setActive(false);
    assess({ type: 'Polygon', coordinates: [ring] });
  });
  csv.addEventListener('click', async () => {
    const res = await fetch(api('impact?f=csv'), authed({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(asked) }));
    if (!res.ok) return;
    const link = el('a', { href: URL.createObjectURL(await res.blob()), download: 'impact.csv' });
    document.body.append(link);
    link.click();
    link.remove();
  });

  return {
    addLayers() {
      map.addSource('impact-sketch', { type: 'geojson', data: EMPTY });
      map.addLayer({ id: 'impact-grids', type: 'line', source: 'gridmap', 'source-layer': 'grids', filter: ['in', ['get', 'code'], ['literal', []]],
        paint: { 'line-color': '#c2185b', 'line-width': 2.5 } });
      map.addLayer({ id: 'impact-sketch-line', type: 'line', source: 'impact-sketch', filter: ['==', ['geometry-type'], 'LineString'], paint: { 'line-color': '#c2185b', 'line-width': 2, 'line-dasharray': [2, 1] } });
      map.addLayer({ id: 'impact-sketch-point', type: 'circle', source: 'impact-sketch', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 4, 'circle-color': '#c2185b' } });
    },
    get active() { return active; },
    // A click while picking: the circle's centre, a polygon's corner, or a risk zone.
    pick(lngLat, point) {
      const at = [lngLat.lng, lngLat.lat];
      if (mode.value === 'circle') {
        corners = [at];
        sketch();
        setActive(false);
        assess({ lon: at[0], lat: at[1], radius_m: Number(radius.value) });
      } else if (mode.value === 'polygon') {
        corners.push(at);
        sketch();
      } else {
        const layers = ['risk_zones-fill'].filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
        const [zone] = layers.length ? map.queryRenderedFeatures(point, { layers }) : [];
        if (!zone) {
          status.textContent = '此处无风险区（请打开风险区图层） No risk zone here: switch the Risk zones layer on';
          return;
        }
        setActive(false);
        assess({ risk_zone: zone.properties.code });
      }
    },
  };
}
