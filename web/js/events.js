// Events on the map: the events layer (staff see their area's cases as points coloured by state,
// overdue ones red; everyone sees open cases per grid), the report form (pick a point on the map,
// POST /events), and for a signed-in account its worklist: the open cases of its area, newest
// first, each with its deadline counting down and the steps its state allows. gridmap decides who
// may take a step; a refusal is shown on the case, never hidden.

import { el } from './panels.js';
import { authed, token } from './account.js';
import { api, mapCrs } from './crs.js';

// The states, their labels and colours (the layer, the legend and the worklist share them).
export const STATES = [
  { id: 'reported', label: '已上报 reported', color: '#e89f0c' },
  { id: 'accepted', label: '已签收 accepted', color: '#2f7ed8' },
  { id: 'dispatched', label: '已派遣 dispatched', color: '#7b4fc9' },
  { id: 'handled', label: '已处置 handled', color: '#2a9d8f' },
  { id: 'closed', label: '已办结 closed', color: '#8a939e' },
  { id: 'evaluated', label: '已评价 evaluated', color: '#b7bdc4' },
];
const OVERDUE = '#d7191c';
const OPEN = ['reported', 'accepted', 'dispatched', 'handled'];

// The switchable group of the event tiles (source `events`, /tiles/events.json).
export const EVENTS_GROUP = {
  id: 'events', label: '事件 Events', on: false,
  legend: [
    ...STATES.map((s) => ({ kind: 'circle', color: s.color, label: s.label })),
    { kind: 'circle', color: OVERDUE, label: '超时 overdue' },
    { kind: 'fill', color: '#d7191c', opacity: 0.3, label: '在办事件 open cases per grid' },
  ],
  layers: [
    { id: 'event_density-fill', type: 'fill', source: 'events', 'source-layer': 'event_density', filter: ['>', ['get', 'open'], 0],
      paint: { 'fill-color': '#d7191c', 'fill-opacity': ['interpolate', ['linear'], ['get', 'open'], 1, 0.08, 10, 0.4] } },
  ],
  labels: [
    { id: 'events-circle', type: 'circle', source: 'events', 'source-layer': 'events',
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 2.5, 15, 6],
        'circle-color': ['case', ['to-boolean', ['get', 'overdue']], OVERDUE,
          ['match', ['get', 'status'], ...STATES.flatMap((s) => [s.id, s.color]), '#777']],
        'circle-stroke-color': '#fff', 'circle-stroke-width': 1,
      } },
  ],
};

const label = (id) => STATES.find((s) => s.id === id)?.label || id;

// A JSON request to gridmap as the signed-in account: the body, or an Error with the API's message.
async function call(url, init = {}) {
  const res = await fetch(url, authed(init));
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${res.status}: ${body.message || body.error || 'refused'}`);
  return body;
}

// Fetch the event tiles again (after a report or a step), keeping the view.
export function refreshEventTiles(map) {
  const source = map.getSource('events');
  if (source) source.setTiles(source.tiles.map((t) => t));
}

// The report form. `pick(lngLat)` is called by the map's click while the form is picking.
export function reportForm(map, container, config, reported) {
  const toggle = el('button', { id: 'report-pick', type: 'button', 'aria-pressed': 'false' }, '在地图上点选 Pick the place');
  const where = el('p', { id: 'report-where', class: 'summary' }, '未选位置 no place yet');
  const category = el('select', { id: 'report-category' }, ...config.categories.map((c) => el('option', { value: c.id }, `${c.label} ${c.id}`)));
  const severity = el('select', { id: 'report-severity' }, ...config.severities.map((s) => el('option', { value: s }, { red: '红 red', yellow: '黄 yellow', blue: '蓝 blue' }[s] || s)));
  severity.value = 'yellow';
  // Without an account a report is the public's; staff say where it came from.
  const source = el('select', { id: 'report-source' },
    ...(token() ? ['grid_worker', 'hotline', 'sensor', 'public'] : ['public']).map((s) => el('option', { value: s }, s)));
  const text = el('textarea', { id: 'report-text', rows: 3, maxlength: 2000, placeholder: '描述问题 what is wrong' });
  const submit = el('button', { id: 'report-submit', type: 'button', disabled: true }, '上报 Report');
  const result = el('p', { id: 'report-result', class: 'summary' });
  container.append(toggle, where, el('label', {}, '类别 category ', category), el('label', {}, '紧急 severity ', severity),
    el('label', {}, '来源 source ', source), text, submit, result);
  let at = null;
  const form = {
    active: false,
    pick(lngLat) {
      at = { lon: Number(lngLat.lng.toFixed(7)), lat: Number(lngLat.lat.toFixed(7)) };
      where.textContent = `${at.lon}, ${at.lat}`;
      where.dataset.lon = at.lon;
      where.dataset.lat = at.lat;
      submit.disabled = false;
      map.getSource('report-point').setData({ type: 'Feature', geometry: { type: 'Point', coordinates: [at.lon, at.lat] }, properties: {} });
    },
  };
  const setActive = (on) => {
    form.active = on;
    toggle.setAttribute('aria-pressed', String(on));
    map.getCanvas().style.cursor = on ? 'crosshair' : '';
  };
  toggle.addEventListener('click', () => setActive(!form.active));
  submit.addEventListener('click', async () => {
    if (!text.value.trim()) {
      result.textContent = 'text: 请描述问题 say what is wrong';
      return;
    }
    submit.disabled = true;
    try {
      const e = await call('events', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...at, crs: mapCrs(), category: category.value, severity: severity.value, source: source.value, text: text.value }),
      });
      const p = e.properties;
      result.dataset.id = e.id;
      result.dataset.grid = p.grid_code ?? '';
      result.replaceChildren(
        `已上报 #${e.id} → 网格 grid ${p.grid_code ?? '—'}`,
        p.near_boundary.length ? el('small', {}, ` (近边界 near ${p.near_boundary.join(', ')})`) : '',
        el('br'), `期限 deadline ${new Date(p.deadline).toLocaleString('zh-CN')}`,
        // The reporter keeps this to evaluate the outcome (and to add photos through the API).
        el('br'), el('small', {}, `评价码 evaluation token: ${p.evaluation_token}`),
      );
      text.value = '';
      setActive(false);
      reported(e);
    } catch (err) {
      result.textContent = err.message;
    } finally {
      submit.disabled = at === null;
    }
  });
  return form;
}

function countdown(deadlineMs, now) {
  const left = deadlineMs - now;
  const s = Math.floor(Math.abs(left) / 1000);
  const hms = `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return left >= 0 ? `剩余 ${hms} left` : `超时 ${hms} overdue`;
}

// The labels of the steps gridmap offers a case (`properties.actions`: what this account may take).
const STEP_LABELS = {
  accept: '签收 accept', dispatch: '派遣 dispatch', handle: '处置 handle', close: '办结 close',
  escalate: '上报 escalate', return: '退回 return', evaluate: '评价 evaluate',
};

// The signed-in account's worklist: GET /events of its area's open cases, newest first.
export function worklist(map, container) {
  if (!token()) {
    container.append(el('p', { class: 'summary' }, '登录后可见本区域待办 Sign in to see the open cases of your area'));
    return { reload: async () => {} };
  }
  const summary = el('p', { id: 'worklist-summary', class: 'summary' }, '…');
  const list = el('ul', { id: 'worklist', class: 'results worklist' });
  const refresh = el('button', { id: 'worklist-refresh', type: 'button' }, '刷新 Refresh');
  container.append(summary, refresh, list);
  const item = (f) => {
    const p = f.properties;
    const status = el('span', { class: 'state', style: `background: ${p.overdue ? OVERDUE : STATES.find((s) => s.id === p.status)?.color}` }, label(p.status));
    const clock = el('span', { class: 'countdown', 'data-deadline': Date.parse(p.deadline) }, countdown(Date.parse(p.deadline), Date.now()));
    const note = el('input', { class: 'step-note', placeholder: '说明 note', maxlength: 2000 });
    const to = el('input', { class: 'step-to', value: p.grid_code ?? p.village_code ?? '', size: 16, 'aria-label': 'dispatch to' });
    const message = el('p', { class: 'step-status' });
    const show = el('a', { href: '#', class: 'event-id', onclick: (e) => { e.preventDefault(); map.flyTo({ center: f.geometry.coordinates, zoom: 16 }); } }, `#${f.id}`);
    const li = el('li', { 'data-event': f.id, 'data-status': p.status },
      el('div', {}, show, ' ', status, ' ', clock),
      el('small', {}, `${p.category} · ${p.severity} · 网格 ${p.grid_code ?? '—'} · ${p.text}`));
    const take = async (action) => {
      const body = { action };
      if (action === 'dispatch') body.to = to.value.trim();
      if (note.value.trim()) body.note = note.value.trim();
      message.textContent = '…';
      try {
        await call(`events/${f.id}/transitions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        await tool.reload();
        refreshEventTiles(map);
      } catch (err) {
        message.textContent = err.message;
      }
    };
    const steps = (p.actions || []).filter((a) => a !== 'evaluate');
    if (steps.includes('dispatch')) li.append(el('label', {}, '派往 to ', to));
    if (steps.some((a) => ['handle', 'return', 'escalate'].includes(a))) li.append(note);
    if (!steps.length) message.textContent = '待他人处理 waiting for another unit';
    li.append(el('div', {}, ...steps.map((action) => el('button', { type: 'button', class: `step-${action}`, onclick: () => take(action) }, STEP_LABELS[action] || action))), message);
    return li;
  };
  const tool = {
    async reload() {
      try {
        const page = await call(api(`events?status=${OPEN.join(',')}&limit=30`));
        summary.textContent = `${page.numberMatched} 件在办 open in your area (newest ${page.numberReturned})`;
        list.replaceChildren(...page.features.map(item));
      } catch (err) {
        summary.textContent = err.message;
      }
    },
  };
  refresh.addEventListener('click', () => tool.reload());
  setInterval(() => {
    const now = Date.now();
    for (const c of list.querySelectorAll('.countdown')) {
      const d = Number(c.dataset.deadline);
      c.textContent = countdown(d, now);
      c.classList.toggle('late', d < now);
    }
  }, 1000);
  // Others act on these cases too: look again every half minute.
  setInterval(() => { if (!document.hidden) tool.reload(); }, 30_000);
  tool.reload();
  return tool;
}
