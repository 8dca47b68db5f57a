// The command centre's big screen, /map?screen=1: no panels; the map visits the towns in turn,
// each outlined and framed with its name and figures beside it, the towns shaded by a metric
// and the trend charts under the figures. `rotate=S` sets the seconds per town (20 by default),
// `metric=M` the shading (events_per_1000 by default; any /stats metric).
//
// Statistics are for accounts: sign in on /map, then open /map?screen=1 in the same tab (the
// token lives in the tab's session storage). Signed out, the screen still visits the towns.

import { el } from './panels.js';
import { token } from './account.js';
import { api } from './crs.js';
import { bounds, legendRows, trendCharts } from './stats.js';

const FIGURES = [
  ['population', '人口 people'],
  ['events', '事件 events'],
  ['events_per_1000', '每千人事件 per 1,000'],
  ['on_time_share', '按期办结 on time'],
  ['overdue_now', '当前超时 overdue now'],
];

export function screenWanted() {
  const asked = new URLSearchParams(window.location.search).get('screen');
  return asked !== null && asked !== '0' && asked !== 'false';
}

const shown = (key, v) => (v === null || v === undefined ? '–' : key.endsWith('_share') ? `${(v * 100).toFixed(1)}%` : Number.isInteger(v) ? v.toLocaleString('en') : v.toFixed(2));

// Start the screen on `map` (its style loaded), with the statistics panel `stats` for shading.
export async function bigScreen(map, stats, categories) {
  const params = new URLSearchParams(window.location.search);
  const seconds = Math.max(1, Number(params.get('rotate')) || 20);
  const metric = params.get('metric') || 'events_per_1000';
  document.body.classList.add('screen');
  const name = el('h2', { id: 'screen-town' });
  const figures = el('table', { id: 'screen-figures' });
  const legend = el('ul', { id: 'screen-legend', class: 'stats-legend' });
  const charts = el('div', { id: 'screen-charts' });
  const note = el('p', { id: 'screen-note', class: 'summary' });
  document.body.append(el('section', { id: 'screen', 'aria-label': 'big screen' },
    el('h1', {}, '丹阳网格一张图 · 指挥大屏'), name, figures, el('p', { class: 'screen-metric' }, metric), legend, note, charts));
  map.resize();

  // Signed in: the towns of the account's area with their figures, shaded, and the trend;
  // asked again after every round of the towns (the screen stays on all day). Signed out (or
  // refused): the public outlines of every town.
  async function figuresNow() {
    if (!token()) {
      note.textContent = '登录后显示统计 Sign in on /map for the figures';
      return null;
    }
    try {
      const answer = await stats.show('town', metric);
      legend.replaceChildren(...legendRows(answer.breaks[metric] || []));
      const trend = await trendCharts('town', categories, { width: 360, height: 160 });
      charts.replaceChildren(...trend.figures);
      note.textContent = '';
      return answer.features;
    } catch (e) {
      note.textContent = e.message;
      return null;
    }
  }
  let towns = await figuresNow();
  if (!towns) {
    const res = await fetch(api('collections/towns/items?limit=1000'));
    towns = res.ok ? (await res.json()).features : [];
  }
  if (towns.length === 0) return;

  // Each town is shown for `seconds` after the map arrives there (a slow frame never cuts a
  // visit short). The last visits are kept for tests and the console: where the map arrived.
  const visits = [];
  window.gridmap.screen = { visits };
  let next = 0;
  let asked = performance.now();
  const visit = async () => {
    // After each round, and at most once a minute (an area of one town is a round per visit).
    if (next > 0 && next % towns.length === 0 && performance.now() - asked > 60_000) {
      asked = performance.now();
      const fresh = await figuresNow();
      if (fresh?.length) towns = fresh;
    }
    const town = towns[next % towns.length];
    next += 1;
    const box = bounds({ features: [town] });
    const p = town.properties;
    name.textContent = `${p.name} ${p.code}`;
    figures.replaceChildren(...FIGURES.filter(([k]) => k in p).map(([k, label]) => el('tr', { 'data-metric': k }, el('th', {}, label), el('td', {}, shown(k, p[k])))));
    map.setFilter('highlight-towns', ['==', ['get', 'code'], p.code]);
    let arrived = false;
    const arrive = () => {
      if (arrived) return;
      arrived = true;
      visits.push({ town: p.code, bounds: box, centre: map.getCenter().toArray() });
      if (visits.length > 100) visits.shift();
      setTimeout(visit, seconds * 1000);
    };
    map.once('moveend', arrive);
    // Should the view not move at all (one town, already framed), go on all the same.
    setTimeout(arrive, 15_000);
    // Beside the figures' box on a wide screen, over it on a narrow one.
    const left = map.getContainer().clientWidth > 1000 ? 420 : 40;
    map.fitBounds(box, { padding: { top: 40, bottom: 40, left, right: 40 }, duration: 1500 });
  };
  visit();
}
