// The /map page in a real Chromium: node map.test.mjs BASE_URL ARTIFACT_DIR
// Run by tests/it/browser.rs against a `gridmap serve` of the Danyang sample. Every check opens
// a fresh page, and every page must log no console error and request nothing beyond 127.0.0.1.
// Expected answers come from the HTTP API (fetched here, outside the page) or from the data.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jumpAndSettle, launch, ready, settle } from './lib.mjs';

const [base, artifacts] = process.argv.slice(2);
assert.ok(base && artifacts, 'usage: node map.test.mjs BASE_URL ARTIFACT_DIR');
mkdirSync(artifacts, { recursive: true });

const api = async (path) => {
  const res = await fetch(`${base}${path}`);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
};

const browser = await launch();
const failures = [];

// A fresh page on /map (plus `hash`), watched for console errors and outside requests.
async function openMap(hash = '', server = base) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // Generous: the suite shares two cores with the other tests, and WebGL runs on the CPU here.
  page.setDefaultTimeout(90_000);
  const problems = [];
  const bytes = { total: 0 };
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const url = r.url();
    if (!(url.startsWith('http://127.0.0.1:') || url.startsWith('blob:') || url.startsWith('data:'))) {
      problems.push(`request left 127.0.0.1: ${url}`);
    }
  });
  page.on('requestfinished', async (r) => {
    const sizes = await r.sizes().catch(() => null);
    if (sizes) bytes.total += sizes.responseBodySize + sizes.responseHeadersSize;
  });
  // MapLibre cancels tile requests it no longer needs (a fly-to passes over tiles it then drops):
  // Chromium reports those as net::ERR_ABORTED. Such a failure is the map's own doing only when
  // MapLibre announced aborting that very tile (its `dataabort` event, recorded from the moment
  // the page creates the map); `cancelled` keeps them for `check` to match once the page settles.
  // Every other failure counts: an HTTP error, a connection error, an aborted non-tile request.
  const cancelled = [];
  await page.addInitScript(() => {
    window.__abortedTiles = new Set();
    let map;
    Object.defineProperty(window, 'map', {
      configurable: true,
      get: () => map,
      set: (m) => {
        map = m;
        m.on('dataabort', (e) => {
          const c = e.coord?.canonical;
          if (c) window.__abortedTiles.add(`${c.z}/${c.x}/${c.y}`);
        });
      },
    });
  });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  page.on('requestfailed', (r) => {
    const error = r.failure()?.errorText;
    const tile = new URL(r.url()).pathname.match(/^\/tiles\/(?:gcj02\/)?(\d+\/\d+\/\d+)\.(mvt|pbf)$/);
    if (error === 'net::ERR_ABORTED' && tile) cancelled.push({ url: r.url(), tile: tile[1] });
    else problems.push(`request failed: ${r.url()} ${error}`);
  });
  await page.goto(`${server}/map${hash}`);
  const firstRenderMs = await ready(page);
  return { page, problems, cancelled, bytes, firstRenderMs };
}

// The aborted tile requests MapLibre did not abort itself (none, when all is well).
async function unexplainedAborts({ page, cancelled }) {
  if (!cancelled.length || page.isClosed()) return cancelled.map((c) => c.url);
  await settle(page);
  const aborted = new Set(await page.evaluate(() => [...window.__abortedTiles]));
  return cancelled.filter((c) => !aborted.has(c.tile)).map((c) => `request aborted, not by the map: ${c.url}`);
}

// GRIDMAP_BROWSER_ONLY=text runs only the checks whose name holds it (while working on one).
const only = process.env.GRIDMAP_BROWSER_ONLY;

async function check(name, body) {
  if (only && !name.includes(only)) return;
  const started = Date.now();
  let opened;
  try {
    await body(async (hash, server) => { opened = await openMap(hash, server); return opened; });
    if (opened) {
      assert.deepEqual([...opened.problems, ...await unexplainedAborts(opened)], [], 'console errors, failed or outside requests');
      if (opened.cancelled.length) console.log(`     ${opened.cancelled.length} tile request(s) cancelled by the map`);
    }
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}\n${e.stack || e}`);
  } finally {
    if (opened) await opened.page.close();
  }
}

const rendered = (page, layers) => page.evaluate((ids) => window.map.queryRenderedFeatures({ layers: ids }).length, layers);

// What the map draws after a change (a layer switched off, a source's data set) shows on a later
// frame than the one `settle` may already see: ask again, frame by frame, until `ok(value)` or a
// generous deadline (a busy machine renders slowly), and return the last value for the assertion.
async function eventually(page, probe, ok, deadlineMs = 30_000) {
  const deadline = Date.now() + deadlineMs;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
    value = await probe();
  }
  return value;
}
const shot = (page, name) => page.screenshot({ path: join(artifacts, `${name}.png`) });

await check('the city view loads offline, light, with every default layer switched on', async (open) => {
  const { page, bytes, firstRenderMs } = await open();
  await page.waitForLoadState('networkidle');
  console.log(`     first render ${firstRenderMs.toFixed(0)} ms, ${(bytes.total / 1024).toFixed(0)} KiB transferred`);
  assert.ok(bytes.total <= 1.5 * 1024 * 1024, `page weighs ${bytes.total} bytes (budget 1.5 MiB)`);
  const labels = await page.$$eval('#layers input', (boxes) => boxes.map((b) => [b.dataset.group, b.checked]));
  // The declared layers (/map/config.json) follow, switched off until asked for.
  const declared = Object.fromEntries((await api('/map/config.json')).declared.map((d) => [d.id, false]));
  assert.deepEqual(Object.fromEntries(labels), {
    towns: true, alliances: false, coverage_gaps: true, villages: true, grids: true, members: false, stations: true,
    ...declared, events: false,
  });
  // Every town of the sample is drawn at the city view, and its label placed.
  const towns = await api('/collections/towns/items?limit=100');
  const names = await page.evaluate(() => new Set(window.map.queryRenderedFeatures({ layers: ['towns-line'] }).map((f) => f.properties.name)).size);
  assert.equal(names, towns.features.length);
  assert.ok(await rendered(page, ['towns-label']) >= towns.features.length - 1, 'town labels placed');
  await shot(page, 'city');
});

await check('each layer renders features at its zoom', async (open) => {
  const { page } = await open('#layers=towns,alliances,coverage_gaps,villages,grids,members,stations');
  const station = (await api('/collections/stations/items?limit=1')).features[0].geometry.coordinates;
  const member = (await api('/collections/members/items?limit=1')).features[0].geometry.coordinates;
  const bounds = (await api('/tiles.json')).bounds;
  const middle = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2];
  const views = {
    towns: [{ center: middle, zoom: 10 }, ['towns-fill', 'towns-line', 'towns-label']],
    alliances: [{ center: member, zoom: 11 }, ['alliances-fill', 'alliances-line']],
    villages: [{ center: station, zoom: 13 }, ['villages-line', 'villages-label']],
    grids: [{ center: station, zoom: 15 }, ['grids-line', 'grids-label']],
    coverage_gaps: [{ center: middle, zoom: 12 }, ['coverage_gaps-fill']],
    members: [{ center: member, zoom: 14 }, ['members-circle']],
    stations: [{ center: station, zoom: 15 }, ['stations-symbol']],
    'stations as clusters': [{ center: middle, zoom: 10 }, ['stations-clusters', 'stations-clusters-count']],
  };
  for (const [group, [view, layers]] of Object.entries(views)) {
    await jumpAndSettle(page, view);
    for (const layer of layers) {
      assert.ok(await rendered(page, [layer]) > 0, `${group}: nothing rendered in ${layer} at z${view.zoom}`);
    }
  }
  await shot(page, 'all-layers');
  // The switcher hides a group and the URL says so.
  await page.click('#layer-stations');
  await settle(page);
  const stillDrawn = await eventually(page, () => rendered(page, ['stations-symbol', 'stations-clusters']), (n) => n === 0);
  assert.equal(stillDrawn, 0, 'stations still drawn after switching them off');
  assert.match(await page.evaluate(() => window.location.hash), /layers=towns,alliances,coverage_gaps,villages,grids,members(&|$)/);
});

await check('the declared layers of layers.toml are switchable, drawn, in the legend and clickable', async (open) => {
  const config = await api('/map/config.json');
  assert.ok(config.declared.length >= 6, `${config.declared.length} declared layers`);
  const { page } = await open(`#layers=${config.declared.map((d) => d.id).join(',')}`);
  const legendText = await page.textContent('#legend');
  for (const d of config.declared) {
    assert.ok(legendText.includes(d.title), `legend lacks ${d.title}`);
    assert.equal(await page.isChecked(`#layer-${d.id}`), true, `${d.id} switched on by the URL`);
    // A staff layer's features exist only for accounts in their area: the public page draws none.
    if (d.staff) {
      assert.equal((await api(`/collections/${d.id}/items?limit=1`)).numberMatched, 0, `${d.id} is staff only`);
      continue;
    }
    const f = (await api(`/collections/${d.id}/items?limit=1`)).features[0];
    const first = d.geometry === 'point' ? f.geometry.coordinates : f.geometry.coordinates.flat(3).slice(0, 2);
    const zoom = Math.min(Math.max(d.minzoom, 14), d.maxzoom);
    await jumpAndSettle(page, { center: first, zoom });
    const layer = d.geometry === 'point' ? `${d.id}-circle` : `${d.id}-line`;
    assert.ok(await eventually(page, () => rendered(page, [layer]), (n) => n > 0) > 0, `${d.id}: nothing rendered in ${layer} at z${zoom}`);
  }
  // A shelter's popup names it and its layer.
  const shelter = (await api('/collections/shelters/items?limit=1&offset=3')).features[0];
  const [lon, lat] = shelter.geometry.coordinates;
  await jumpAndSettle(page, { center: [lon, lat], zoom: 17 });
  const box = await page.locator('#map').boundingBox();
  const at = await page.evaluate(([x, y]) => window.map.project([x, y]), [lon, lat]);
  await page.mouse.click(box.x + at.x, box.y + at.y);
  await page.waitForSelector('.maplibregl-popup .popup[data-layer="shelters"] h3');
  assert.equal(await page.textContent('.maplibregl-popup h3'), shelter.properties.name);
  const title = config.declared.find((d) => d.id === 'shelters').title;
  assert.equal(await page.textContent('.maplibregl-popup .popup-kind'), title);
  await shot(page, 'declared-layers');
});

await check('a town signs in: its posts show their duty phone, an edit is saved, a stale one is explained', async (open) => {
  const token = process.env.GRIDMAP_TEST_TOKEN;
  assert.ok(token, 'tests/it/browser.rs passes a town account\'s token');
  const auth = { Authorization: `Bearer ${token}` };
  const as = async (path, init = {}) => fetch(`${base}${path}`, { ...init, headers: { ...auth, ...(init.headers || {}) } });
  const opened = await open();
  const { page } = opened;
  await page.evaluate(() => { document.querySelector('#account').closest('details').open = true; });
  await page.fill('#account-token', token);
  await Promise.all([page.waitForNavigation(), page.click('#account-signin')]);
  await ready(page);
  await page.waitForSelector('#account-signout', { state: 'attached' });
  // A post of the town (太阳城街道, 321181001) and one of another town: what the popups show is
  // what the API gives the account.
  const posts = (await api('/collections/stations/items?limit=300')).features;
  const mine = posts.find((p) => p.properties.grid_code.startsWith('321181001'));
  const theirs = posts.find((p) => !p.properties.grid_code.startsWith('321181001'));
  const clickPost = async (post) => {
    await page.evaluate(() => document.querySelector('.maplibregl-popup-close-button')?.click());
    const [lon, lat] = post.geometry.coordinates;
    await jumpAndSettle(page, { center: [lon, lat], zoom: 17 });
    const box = await page.locator('#map').boundingBox();
    const at = await page.evaluate(([x, y]) => window.map.project([x, y]), [lon, lat]);
    await page.mouse.click(box.x + at.x, box.y + at.y);
    await page.waitForSelector('.maplibregl-popup .popup[data-layer="stations"] h3');
    return page.textContent('.maplibregl-popup .popup');
  };
  const full = await (await as(`/collections/stations/items/${mine.id}`)).json();
  assert.ok(full.properties.contact_phone, 'the account sees the phone over the API');
  assert.ok((await clickPost(mine)).includes(full.properties.contact_phone), 'the popup shows the duty phone from the scoped tile');
  await shot(page, 'signed-in-popup');

  // Edit the opening hours in the popup; the API then has them.
  await page.click('.popup .edit-open');
  await page.waitForSelector('.popup input[name="opening_hours"]');
  await page.fill('.popup input[name="opening_hours"]', 'Mo-Su 07:00-21:00');
  await page.click('.popup .edit-save');
  await page.waitForFunction(() => document.querySelector('.popup .edit-status').textContent.includes('Saved'));
  const after = await (await as(`/collections/stations/items/${mine.id}`)).json();
  assert.equal(after.properties.opening_hours, 'Mo-Su 07:00-21:00');
  // Someone else saves first (through the API, with the current ETag): the page's next save is
  // refused with 412 and the popup says why.
  const tag = (await as(`/collections/stations/items/${mine.id}`)).headers.get('etag');
  const other = await as(`/collections/stations/items/${mine.id}`, {
    method: 'PATCH', headers: { 'If-Match': tag, 'Content-Type': 'application/json' },
    body: JSON.stringify({ properties: { name: `${mine.properties.name}（他人修改）` } }),
  });
  assert.equal(other.status, 200);
  await page.fill('.popup input[name="opening_hours"]', 'Mo-Su 08:00-20:00');
  await page.click('.popup .edit-save');
  await page.waitForFunction(() => document.querySelector('.popup .edit-status').textContent.includes('412'));
  assert.match(await page.textContent('.popup .edit-status'), /open it again/);
  const kept = await (await as(`/collections/stations/items/${mine.id}`)).json();
  assert.equal(kept.properties.opening_hours, 'Mo-Su 07:00-21:00', 'the stale save wrote nothing');
  await shot(page, 'signed-in-stale-edit');
  // That 412 was the point of the check: not a page error.
  opened.problems.splice(0, opened.problems.length, ...opened.problems.filter((p) => !/412/.test(p)));

  // Another town's post: public fields only.
  const publicOnly = await (await fetch(`${base}/collections/stations/items/${theirs.id}`)).json();
  const text = await clickPost(theirs);
  assert.ok(!('contact_phone' in (await (await as(`/collections/stations/items/${theirs.id}`)).json()).properties));
  assert.ok(text.includes(publicOnly.properties.name));
  assert.ok(!/值班电话/.test(text), `no duty phone outside the area: ${text}`);
});

await check('an event reported on the map goes to the grid /locate names and moves through its states as two accounts', async (open) => {
  const town = process.env.GRIDMAP_TEST_TOKEN;
  const worker = process.env.GRIDMAP_TEST_WORKER_TOKEN;
  const grid = process.env.GRIDMAP_TEST_WORKER_GRID;
  const [lon, lat] = (process.env.GRIDMAP_TEST_POINT || '').split(',').map(Number);
  assert.ok(town && worker && grid && Number.isFinite(lat), 'tests/it/browser.rs passes two accounts, a grid and a point in it');
  const opened = await open();
  const { page } = opened;
  const signInAs = async (t) => {
    await page.evaluate((v) => sessionStorage.setItem('gridmap.token', v), t);
    await page.reload();
    await ready(page);
  };
  const openPanel = (name) => page.evaluate((id) => { document.getElementById(id).closest('details').open = true; }, name);
  const item = (id, status) => `#worklist li[data-event="${id}"]${status ? `[data-status="${status}"]` : ''}`;

  // The town's staff report at the point: a click on the map in pick mode, then the form.
  await signInAs(town);
  await openPanel('report');
  await jumpAndSettle(page, { center: [lon, lat], zoom: 16 });
  await page.click('#report-pick');
  const box = await page.locator('#map').boundingBox();
  const at = await page.evaluate((c) => window.map.project(c), [lon, lat]);
  await page.mouse.click(box.x + at.x, box.y + at.y);
  await page.waitForSelector('#report-where[data-lon]');
  await page.selectOption('#report-category', 'sanitation');
  await page.fill('#report-text', '垃圾堆放（浏览器测试）');
  await page.click('#report-submit');
  await page.waitForSelector('#report-result[data-id]');
  const id = Number(await page.getAttribute('#report-result', 'data-id'));
  const routed = await page.getAttribute('#report-result', 'data-grid');
  // Routed as /locate places the point the page sent, which is the grid the point lies in.
  const sent = await page.$eval('#report-where', (w) => [w.dataset.lon, w.dataset.lat]);
  const loc = await api(`/locate?lon=${sent[0]}&lat=${sent[1]}`);
  assert.equal(routed, loc.grid.code, 'routed like /locate');
  assert.equal(routed, grid, 'the clicked point lies in the worker\'s grid');
  await shot(page, 'event-reported');

  // The town accepts and dispatches it to the grid from its worklist; the map draws it dispatched.
  await openPanel('worklist-box');
  await page.waitForSelector(item(id, 'reported'));
  assert.match(await page.textContent(`${item(id)} .countdown`), /剩余 \d+:\d\d:\d\d left/);
  await page.click(`${item(id)} .step-accept`);
  await page.waitForSelector(item(id, 'accepted'));
  assert.equal(await page.inputValue(`${item(id)} .step-to`), grid);
  await page.click(`${item(id)} .step-dispatch`);
  await page.waitForSelector(item(id, 'dispatched'));
  const drawn = await eventually(page, () => page.evaluate((eid) => window.map.queryRenderedFeatures({ layers: ['events-circle'] })
    .filter((f) => f.properties.id === eid).map((f) => f.properties.status), id), (s) => s.includes('dispatched'));
  assert.ok(drawn.includes('dispatched'), `the events layer draws it dispatched: ${drawn}`);

  // The grid's worker handles it; closing is not theirs, so the worklist does not offer it.
  await signInAs(worker);
  await openPanel('worklist-box');
  await page.waitForSelector(item(id, 'dispatched'));
  assert.deepEqual(await page.$$eval(`${item(id)} button`, (b) => b.map((x) => x.className)), ['step-handle', 'step-return']);
  await page.fill(`${item(id)} .step-note`, '已清运');
  await page.click(`${item(id)} .step-handle`);
  await page.waitForSelector(item(id, 'handled'));
  assert.equal(await page.$$eval(`${item(id)} button`, (b) => b.length), 0, 'the worker may not close it');
  assert.match(await page.textContent(`${item(id)} .step-status`), /waiting for another unit/);
  await shot(page, 'event-worker');

  // The town closes it: it leaves the open worklist, and the API has every step by its account.
  await signInAs(town);
  await openPanel('worklist-box');
  await page.waitForSelector(item(id, 'handled'));
  await page.click(`${item(id)} .step-close`);
  await page.waitForSelector(item(id), { state: 'detached' });
  const res = await fetch(`${base}/events/${id}`, { headers: { Authorization: `Bearer ${town}` } });
  const event = await res.json();
  assert.equal(event.properties.status, 'closed');
  assert.deepEqual(event.properties.history.map((h) => [h.action, h.actor]), [
    ['report', 'map.town'], ['accept', 'map.town'], ['dispatch', 'map.town'], ['handle', 'map.worker'], ['close', 'map.town'],
  ]);
});

await check('the statistics panel shades the town\'s villages in the classes and legend /stats gives', async (open) => {
  const town = process.env.GRIDMAP_TEST_TOKEN;
  assert.ok(town, 'tests/it/browser.rs passes a town account\'s token');
  const { page } = await open();
  await page.evaluate((v) => sessionStorage.setItem('gridmap.token', v), town);
  await page.reload();
  await ready(page);
  await page.click('#stats-box summary');
  await page.waitForFunction(() => window.gridmap.firstShadingMs !== undefined, null, { timeout: 90_000 });
  const firstShadingMs = await page.evaluate(() => window.gridmap.firstShadingMs);
  await page.selectOption('#stats-level', 'village');
  await page.waitForFunction(() => window.gridmap.stats?.level === 'village');
  const res = await fetch(`${base}/stats?level=village`, { headers: { Authorization: `Bearer ${town}` } });
  assert.equal(res.status, 200);
  const want = await res.json();
  const byCode = Object.fromEntries(want.units.map((u) => [u.code, u]));
  for (const metric of ['population', 'on_time_share']) {
    await page.selectOption('#stats-metric', metric);
    await page.waitForFunction((m) => window.gridmap.stats?.metric === m, metric);
    const breaks = want.breaks[metric];
    assert.deepEqual(await page.evaluate(() => window.gridmap.stats.breaks), breaks, metric);
    // The legend: a row per class and one for no data, the breaks written in them.
    const legend = await page.$$eval('#stats-legend li', (items) => items.map((li) => li.textContent.trim()));
    assert.equal(legend.length, breaks.length + 2, legend.join(' | '));
    for (const b of breaks) assert.ok(legend.some((row) => row.includes(String(b))), `${b} in ${legend.join(' | ')}`);
    // Every village of the town is drawn, in the colour of its class by /stats's value and breaks.
    await page.evaluate(() => window.map.fitBounds(window.gridmap.stats.bounds, { duration: 0, padding: 10 }));
    await settle(page);
    const drawn = await eventually(page, () => page.evaluate(() => {
      const seen = {};
      for (const f of window.map.queryRenderedFeatures({ layers: ['stats-fill'] })) {
        const c = f.layer.paint['fill-color'];
        const hex = '#' + [c.r, c.g, c.b].map((v) => Math.round(v * 255).toString(16).padStart(2, '0')).join('');
        seen[f.properties.code] = hex;
      }
      return seen;
    }), (seen) => Object.keys(seen).length >= want.units.length);
    assert.deepEqual(Object.keys(drawn).sort(), Object.keys(byCode).sort(), 'the villages drawn are the town\'s');
    const colors = await page.evaluate(async () => {
      const m = await import('./map/js/stats.js');
      return { classes: m.CLASS_COLORS, none: m.NO_DATA };
    });
    for (const [code, hex] of Object.entries(drawn)) {
      const value = byCode[code][metric];
      let k = 0;
      while (value !== null && k < breaks.length && value >= breaks[k]) k += 1;
      assert.equal(hex, value === null ? colors.none : colors.classes[k], `${code}: ${metric} ${value}`);
    }
  }
  console.log(`     first shading ${firstShadingMs.toFixed(0)} ms after the panel opened (town level)`);
  await shot(page, 'statistics-villages');

  // The trend charts under the legend, at the level first shown (the town): each month's bars
  // are the town's events of each category /stats/trend gives, every bar as tall as its value
  // on one scale; the on-time line's points are the town's monthly shares.
  await page.waitForFunction(() => window.gridmap.trend !== undefined);
  const config = await api('/map/config.json');
  const ids = config.events.categories.map((c) => c.id);
  const res2 = await fetch(`${base}/stats/trend?level=town&metrics=on_time_share,${ids.map((c) => `events_${c}`).join(',')}`,
    { headers: { Authorization: `Bearer ${town}` } });
  assert.equal(res2.status, 200);
  const trend = await res2.json();
  const labels = trend.periods.map((p) => p.label);
  // The sample's year by month, and today's month when an earlier check reported an event.
  assert.ok(labels.length >= 12, labels.join(' '));
  const bars = await page.$$eval('#stats-charts rect.chart-bar', (rects) => rects.map((r) => ({
    period: r.dataset.period, series: r.dataset.series, value: Number(r.dataset.value), height: Number(r.getAttribute('height')),
  })));
  const wantBars = labels.flatMap((label, k) => ids.filter((c) => trend.total[`events_${c}`][k] > 0)
    .map((c) => ({ period: label, series: c, value: trend.total[`events_${c}`][k] })));
  assert.deepEqual(bars.map(({ period, series, value }) => ({ period, series, value })), wantBars);
  const scale = bars[0].height / bars[0].value;
  for (const b of bars) assert.ok(Math.abs(b.height / b.value - scale) < 1e-6 * scale, `${b.period} ${b.series}: ${b.height} px for ${b.value}`);
  const points = await page.$$eval('#stats-charts circle.chart-point', (dots) => dots.map((d) => [d.dataset.series, d.dataset.period, Number(d.dataset.value)]));
  const wantPoints = trend.units.flatMap((u) => labels.map((label, k) => [u.code, label, u.values.on_time_share[k]]).filter((p) => p[2] !== null));
  assert.deepEqual(points, wantPoints);
  assert.ok(points.length > 0);
});

await check('the big screen (/map?screen=1) hides the panel, shades the towns and visits each in turn with its figures', async (open) => {
  const city = process.env.GRIDMAP_TEST_CITY_TOKEN;
  assert.ok(city, 'tests/it/browser.rs passes a city account\'s token');
  const { page } = await open('?screen=1&rotate=1');
  // Signed in on /map, then the screen in the same tab (the token is the tab's).
  await page.evaluate((v) => sessionStorage.setItem('gridmap.token', v), city);
  await page.reload();
  await ready(page);
  assert.equal(await page.$eval('#panel', (p) => getComputedStyle(p).display), 'none');
  const res = await fetch(`${base}/stats?level=town&f=json`, { headers: { Authorization: `Bearer ${city}` } });
  const want = await res.json();
  const byCode = Object.fromEntries(want.units.map((u) => [u.code, u]));
  // The towns visited in code order, each framed (the view's centre, where the map arrived,
  // inside the town's box); the box beside the map names the town and gives its /stats figures.
  const visits = await page.waitForFunction(() => window.gridmap.screen?.visits.length >= 3 && window.gridmap.screen.visits, null, { timeout: 120_000 })
    .then((h) => h.jsonValue());
  assert.deepEqual(visits.slice(0, 3).map((v) => v.town), want.units.slice(0, 3).map((u) => u.code), 'in code order');
  for (const { town, bounds: [[w, s], [e, n]], centre: [x, y] } of visits) {
    assert.ok(x >= w && x <= e && y >= s && y <= n, `${town}: ${x},${y} in ${[w, s, e, n]}`);
  }
  const shownNow = await page.evaluate(() => [document.querySelector('#screen-town').textContent,
    document.querySelector('#screen-figures tr[data-metric="events"] td').textContent]);
  const unit = want.units.find((u) => shownNow[0].endsWith(u.code));
  assert.ok(unit && shownNow[0].startsWith(unit.name), shownNow[0]);
  assert.equal(shownNow[1].replace(/,/g, ''), String(unit.events));
  // The towns are shaded by events per 1,000 residents, and the trend charts are drawn.
  assert.equal(await page.evaluate(() => window.gridmap.stats.metric), 'events_per_1000');
  assert.ok(await page.$$eval('#screen-charts rect.chart-bar', (r) => r.length) > 0);
  assert.equal(await page.$$eval('#screen-charts path.chart-line', (p) => p.length), want.units.length);
  await shot(page, 'big-screen');
});

await check('a circle drawn for an emergency outlines the grids /impact names, lists its totals and exports the same CSV', async (open) => {
  const { page } = await open();
  const [lon, lat] = [119.606, 32.0095];
  await jumpAndSettle(page, { center: [lon, lat], zoom: 14 });
  await page.evaluate(() => { document.getElementById('impact').closest('details').open = true; });
  await page.fill('#impact-radius', '800');
  await page.click('#impact-start');
  const box = await page.locator('#map').boundingBox();
  const at = await page.evaluate((c) => window.map.project(c), [lon, lat]);
  await page.mouse.click(box.x + at.x, box.y + at.y);
  await page.waitForFunction(() => window.gridmap.impact !== undefined);
  // What the page sent: the clicked point, as the map unprojects it.
  const centre = await page.evaluate((p) => window.map.unproject(p), at);
  const body = JSON.stringify({ lon: centre.lng, lat: centre.lat, radius_m: 800 });
  const post = (f = '') => fetch(`${base}/impact${f}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  const want = await (await post()).json();
  const shown = await page.evaluate(() => window.gridmap.impact);
  assert.deepEqual(shown.grids.map((g) => g.code), want.grids.map((g) => g.code));
  assert.ok(want.grids.length > 5, `${want.grids.length} grids`);
  assert.equal(await page.textContent('#impact-people'), want.totals.people.toLocaleString('en'));
  assert.equal(await page.textContent('#impact-shortfall'), want.shelters.shortfall.toLocaleString('en'));
  // The outlined grids are exactly those the answer names, as far as the view shows them.
  await settle(page);
  const codes = new Set(want.grids.map((g) => g.code));
  const outlined = await eventually(page, () => page.evaluate(() => [...new Set(window.map.queryRenderedFeatures({ layers: ['impact-grids'] }).map((f) => f.properties.code))]),
    (seen) => seen.length >= codes.size);
  assert.deepEqual(outlined.sort(), [...codes].sort());
  // Export CSV downloads what POST /impact?f=csv answers.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#impact-csv')]);
  const chunks = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk);
  assert.equal(Buffer.concat(chunks).toString('utf8'), await (await post('?f=csv')).text());
  await shot(page, 'impact-circle');
});

await check('clicking a post opens its popup with its name and parents', async (open) => {
  const { page } = await open();
  const item = (await api('/collections/stations/items?limit=1&offset=40')).features[0];
  const [lon, lat] = item.geometry.coordinates;
  const loc = await api(`/locate?lon=${lon}&lat=${lat}`);
  await jumpAndSettle(page, { center: [lon, lat], zoom: 16 });
  const box = await page.locator('#map').boundingBox();
  const at = await page.evaluate(([x, y]) => window.map.project([x, y]), [lon, lat]);
  await page.mouse.click(box.x + at.x, box.y + at.y);
  await page.waitForSelector('.maplibregl-popup .popup[data-layer="stations"] h3');
  assert.equal(await page.textContent('.maplibregl-popup h3'), item.properties.name);
  await page.waitForFunction(() => !document.querySelector('.popup .parents').textContent.includes('…'));
  assert.equal(await page.textContent('.popup .parents'), [loc.town.name, loc.village.name, loc.grid.name].join(' › '));
  await shot(page, 'station-popup');
});

await check('clicking inside a grid names the grid, its parents and the people its gap leaves out', async (open) => {
  const { page } = await open();
  // Grids of one village whose label point is clear of posts (so the click meets the grid) and
  // not within 30 m of the 500 m circle's edge (the gap is drawn as a 72-gon).
  const grids = (await api('/search?q=321181001003&layers=grids&limit=50')).results;
  const picked = [];
  for (const g of grids) {
    const loc = await api(`/locate?lon=${g.center[0]}&lat=${g.center[1]}`);
    const d = loc.nearest_station.distance_m;
    if (d > 80 && Math.abs(d - 500) > 30) picked.push({ g, loc, covered: d < 500 });
  }
  assert.ok(picked.some((p) => p.covered) && picked.some((p) => !p.covered), 'grids both covered and not at their centre');
  const gaps = await api('/coverage/gaps?radius_m=500&level=grid&bbox=119.5,31.9,119.7,32.1');
  const chosen = [...picked.filter((p) => p.covered).slice(0, 2), ...picked.filter((p) => !p.covered).slice(0, 2)];
  for (const { g, loc, covered } of chosen) {
    await page.evaluate(() => document.querySelector('.maplibregl-popup-close-button')?.click());
    await jumpAndSettle(page, { center: g.center, zoom: 16 });
    const box = await page.locator('#map').boundingBox();
    const at = await page.evaluate((c) => window.map.project(c), g.center);
    await page.mouse.click(box.x + at.x, box.y + at.y);
    await page.waitForSelector('.maplibregl-popup .popup[data-layer="grids"] h3');
    assert.equal(await page.textContent('.maplibregl-popup h3'), g.name);
    await page.waitForFunction(() => !document.querySelector('.popup .parents').textContent.includes('…'));
    assert.equal(await page.textContent('.popup .parents'), [loc.town.name, loc.village.name].join(' › '));
    const gapRow = await page.$('.popup tr.gap td');
    if (covered) {
      assert.equal(gapRow, null, `${g.name}: a post is ${loc.nearest_station.distance_m} m away, yet a gap is shown`);
    } else {
      const gap = gaps.features.find((f) => f.properties.code === g.id);
      const people = Math.round(gap.properties.uncovered_population).toLocaleString('zh-CN');
      assert.match(await gapRow.textContent(), new RegExp(`${people} 人`), g.name);
    }
  }
});

await check('the nearest tool lists the same posts as /nearest and draws a line to each', async (open) => {
  const { page } = await open();
  await page.click('summary:has-text("Nearest posts")');
  await jumpAndSettle(page, { center: [119.58, 31.99], zoom: 13 });
  await page.click('#nearest-toggle');
  const box = await page.locator('#map').boundingBox();
  const [x, y] = [box.width * 0.4, box.height * 0.55];
  const clicked = await page.evaluate(([px, py]) => window.map.unproject([px, py]), [x, y]);
  await page.mouse.click(box.x + x, box.y + y);
  await page.waitForFunction(() => document.querySelectorAll('#nearest-list li[data-id]').length === 5);
  const listed = await page.$$eval('#nearest-list li', (items) => items.map((li) => li.dataset.id));
  const expected = await api(`/nearest?lon=${clicked.lng.toFixed(7)}&lat=${clicked.lat.toFixed(7)}&k=5`);
  assert.deepEqual(listed, expected.features.map((f) => String(f.id)));
  await settle(page);
  const ranks = () => page.evaluate(() => new Set(window.map.queryRenderedFeatures({ layers: ['nearest-line'] }).map((f) => f.properties.rank)).size);
  const lines = await eventually(page, ranks, (n) => n === 5);
  assert.equal(lines, 5, 'a line to each of the 5 posts');
  await shot(page, 'nearest');
  // A k the API refuses: its 400 message shows in the list, naming the field.
  await page.fill('#nearest-k', '500');
  await page.mouse.click(box.x + x, box.y + y);
  await page.waitForFunction(() => document.querySelector('#nearest-list li.none')?.textContent.startsWith('k:'));
});

await check('search finds a village by name and flies there', async (open) => {
  const { page } = await open();
  const village = (await api('/collections/villages/items?limit=1&offset=57')).features[0];
  const found = await api(`/search?q=${encodeURIComponent(village.properties.name)}&limit=1`);
  assert.equal(found.results[0].id, village.properties.code, 'the whole name finds the village first');
  await page.fill('#search', village.properties.name);
  await page.waitForSelector(`#search-results li[data-id="${village.properties.code}"]`);
  await page.press('#search', 'Enter');
  await page.waitForFunction(() => window.map.getZoom() > 12);
  await settle(page);
  const [w, s, e, n] = found.results[0].bbox;
  const center = await page.evaluate(() => window.map.getCenter());
  assert.ok(center.lng > w && center.lng < e && center.lat > s && center.lat < n, `centre ${center.lng},${center.lat} outside the village`);
  const inView = await page.evaluate(() => window.map.queryRenderedFeatures({ layers: ['villages-fill'] }).map((f) => f.properties.code));
  assert.ok(inView.includes(village.properties.code), 'the village is drawn');
  const outlined = await page.evaluate(() => [...new Set(window.map.queryRenderedFeatures({ layers: ['highlight-villages', 'highlight-grids', 'highlight-towns'] }).map((f) => f.properties.code))]);
  assert.deepEqual(outlined, [village.properties.code], 'only the found village is outlined');
  await shot(page, 'search-village');
});

await check('the coverage control draws /coverage/gaps for the chosen radius', async (open) => {
  const { page } = await open();
  await page.click('summary:has-text("Coverage")');
  await page.$eval('#coverage-radius', (r) => { r.value = '1000'; r.dispatchEvent(new Event('input')); });
  assert.equal(await page.textContent('#coverage-radius-value'), '1000 m');
  await page.click('#coverage-show');
  await page.waitForFunction(() => /people uncovered/.test(document.querySelector('#coverage-summary').textContent));
  const gaps = await api('/coverage/gaps?radius_m=1000&level=village');
  const people = Math.round(gaps.features.reduce((s, f) => s + f.properties.uncovered_population, 0));
  const summary = await page.textContent('#coverage-summary');
  assert.ok(summary.includes(`${gaps.features.length} villages`), summary);
  assert.ok(summary.includes(people.toLocaleString('zh-CN')), `${summary} (expected ${people})`);
  await settle(page);
  const codes = () => page.evaluate(() => new Set(window.map.queryRenderedFeatures({ layers: ['gaps-overlay-fill'] }).map((f) => f.properties.code)).size);
  const drawn = await eventually(page, codes, (n) => n > gaps.features.length / 2);
  assert.ok(drawn > gaps.features.length / 2, `${drawn} of ${gaps.features.length} gap villages drawn at the city view`);
  assert.equal(await page.isChecked('#layer-coverage_gaps'), false, 'the 500 m tile gaps make way for the overlay');
  await shot(page, 'coverage-1000m');
});

await check('the URL keeps the view and the visible layers', async (open) => {
  const { page } = await open('#map=14/31.99/119.58&layers=towns,stations');
  const view = await page.evaluate(() => ({ zoom: window.map.getZoom(), center: window.map.getCenter() }));
  assert.equal(view.zoom, 14);
  assert.ok(Math.abs(view.center.lat - 31.99) < 1e-6 && Math.abs(view.center.lng - 119.58) < 1e-6);
  const boxes = await page.$$eval('#layers input:checked', (b) => b.map((x) => x.dataset.group));
  assert.deepEqual(boxes, ['towns', 'stations']);
  assert.equal(await rendered(page, ['villages-line', 'grids-line']), 0);
  await jumpAndSettle(page, { center: [119.6, 32.0], zoom: 12 });
  assert.match(await page.evaluate(() => window.location.hash), /^#map=12\/32(\.0*)?\/119\.6(0*)?&layers=towns,stations$/);
});

await check("a link in MapLibre's plain #zoom/lat/lon/bearing/pitch form opens that view", async (open) => {
  for (const [hash, bearing, pitch] of [['#14.5/31.99/119.58', 0, 0], ['#13/32.01/119.61/30/45', 30, 45]]) {
    const opened = await open(hash);
    const { page } = opened;
    const [zoom, lat, lon] = hash.slice(1).split('/').map(Number);
    const view = await page.evaluate(() => ({
      zoom: window.map.getZoom(), center: window.map.getCenter(), bearing: window.map.getBearing(), pitch: window.map.getPitch(),
    }));
    assert.ok(Math.abs(view.zoom - zoom) < 1e-6, `${hash}: zoom ${view.zoom}`);
    assert.ok(Math.abs(view.center.lat - lat) < 1e-6 && Math.abs(view.center.lng - lon) < 1e-6, `${hash}: centre ${view.center.lng},${view.center.lat}`);
    assert.ok(Math.abs(view.bearing - bearing) < 1e-6 && Math.abs(view.pitch - pitch) < 1e-6, `${hash}: bearing ${view.bearing} pitch ${view.pitch}`);
    // From then on the URL is in the page's own form.
    assert.ok((await page.evaluate(() => window.location.hash)).startsWith(`#map=${hash.slice(1)}`));
    assert.deepEqual([...opened.problems, ...await unexplainedAborts(opened)], [], 'console errors or failed requests');
    await page.close();
  }
});

await check('a browser opening / lands on the map', async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${base}/`);
    assert.equal(new URL(page.url()).pathname, '/map');
  } finally {
    await page.close();
  }
});

// A stand-in for a deployment's basemap (a local tile server): a raster tile for any XYZ path,
// and a MapLibre style using it. A gridmap started with --basemap must draw it under its layers.
const TILE = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
async function basemapServer() {
  const seen = [];
  const server = createServer((req, res) => {
    seen.push(req.url);
    if (req.url === '/style.json') {
      const { port } = server.address();
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(JSON.stringify({
        version: 8,
        sources: { osm: { type: 'raster', tiles: [`http://127.0.0.1:${port}/style-tiles/{z}/{x}/{y}.png`], tileSize: 256 } },
        layers: [{ id: 'style-background', type: 'background', paint: { 'background-color': '#dde7ee' } }, { id: 'style-raster', type: 'raster', source: 'osm' }],
      }));
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*' });
    res.end(TILE);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, seen, url: `http://127.0.0.1:${server.address().port}` };
}

// A stand-in GCJ-02 raster basemap: 256-pixel PNG tiles, white, with a red 4x4 square centred on
// each of `points` (GCJ-02 lon, lat) in Web Mercator, as AMap's tiles place things.
async function gcjBasemapServer(points) {
  const { deflateSync } = await import('node:zlib');
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const png = (rgb) => {
    const header = Buffer.alloc(13);
    header.writeUInt32BE(256, 0); header.writeUInt32BE(256, 4);
    header[8] = 8; header[9] = 2; // 8-bit RGB
    const raw = Buffer.alloc(256 * (1 + 256 * 3));
    for (let y = 0; y < 256; y++) rgb.copy(raw, y * (1 + 768) + 1, y * 768, (y + 1) * 768);
    return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  };
  const world = ([lon, lat], z) => {
    const s = 256 * 2 ** z;
    const r = (lat * Math.PI) / 180;
    return [((lon + 180) / 360) * s, ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * s];
  };
  const server = createServer((req, res) => {
    const m = /^\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(req.url);
    if (!m) { res.writeHead(404); res.end(); return; }
    const [z, x, y] = m.slice(1).map(Number);
    const rgb = Buffer.alloc(256 * 768, 255);
    for (const p of points) {
      const [wx, wy] = world(p, z);
      const [cx, cy] = [Math.round(wx - x * 256), Math.round(wy - y * 256)];
      for (let py = cy - 2; py < cy + 2; py++) {
        for (let px = cx - 2; px < cx + 2; px++) {
          if (px < 0 || py < 0 || px > 255 || py > 255) continue;
          const i = (py * 256 + px) * 3;
          rgb[i + 1] = 0; rgb[i + 2] = 0;
        }
      }
    }
    res.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*' });
    res.end(png(rgb));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

// Another gridmap on its own store with `flags`, on a port the system picks (read from its
// "gridmap listening ... bind=127.0.0.1:PORT" log line, so no other test can be handed it);
// resolves once it answers, rejects if it exits or is not up within a generous deadline.
async function startGridmap(flags) {
  const dir = mkdtempSync(join(tmpdir(), 'gridmap-browser-'));
  const child = spawn(process.env.GRIDMAP_BIN, ['serve', '--bind', '127.0.0.1:0', '--store', join(dir, 'gridmap.gpkg'), ...flags], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RUST_LOG: 'gridmap::http=info', NO_COLOR: '1' },
  });
  let log = '';
  const stop = () => { child.kill(); rmSync(dir, { recursive: true, force: true }); };
  try {
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gridmap did not start within 90 s:\n${log}`)), 90_000);
      // Kept until it listens; after that the log is read (so the pipe never fills) and dropped.
      let listening = false;
      child.stderr.on('data', (chunk) => {
        if (listening) return;
        log += chunk;
        const found = /gridmap listening.*bind=127\.0\.0\.1:(\d+)/.exec(log);
        if (found) { listening = true; clearTimeout(timer); resolve(Number(found[1])); }
      });
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`gridmap exited (${code}) before listening:\n${log}`)); });
    });
    const url = `http://127.0.0.1:${port}`;
    const healthy = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    assert.ok(healthy, `gridmap on ${url} listens but /health fails:\n${log}`);
    return { url, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

if (process.env.GRIDMAP_BIN) {
  const tiles = await basemapServer();
  for (const [kind, flag, layer] of [
    ['raster', `${tiles.url}/raster/{z}/{x}/{y}.png`, 'basemap'],
    ['style', `${tiles.url}/style.json`, 'style-raster'],
  ]) {
    await check(`a configured ${kind} basemap is drawn under gridmap's layers`, async (open) => {
      const gridmap = await startGridmap(['--basemap', flag, '--basemap-attribution', 'test basemap']);
      try {
        const { page } = await open('', gridmap.url);
        const order = await page.evaluate(() => window.map.getStyle().layers.map((l) => l.id));
        assert.ok(order.includes(layer), `${layer} missing from ${order}`);
        assert.ok(order.indexOf(layer) < order.indexOf('towns-fill'), 'the basemap is under the towns');
        assert.ok(tiles.seen.some((u) => u.startsWith(kind === 'raster' ? '/raster/' : '/style-tiles/')), `no ${kind} tile requested: ${tiles.seen}`);
        assert.ok(await rendered(page, ['towns-line']) > 0, 'gridmap layers drawn over the basemap');
        if (kind === 'raster') assert.match(await page.textContent('.maplibregl-ctrl-attrib'), /test basemap/);
        await shot(page, `basemap-${kind}`);
      } finally {
        gridmap.stop();
      }
    });
  }
  tiles.server.close();

  // Over a GCJ-02 basemap (AMap's or Tencent's datum), with --basemap-crs gcj02 the page draws
  // the GCJ-02 tile set: a post lands on its mark in a stand-in raster basemap that draws a red
  // square at each post's GCJ-02 position (from gridmap's crs=gcj02 answer, whose conversion is
  // checked against coordtransform in tests/it/gcj02.rs), within a pixel at z16, while the
  // post's WGS84 position lies far off it (so the test could tell a map that did not shift).
  const posts = (await api('/collections/stations/items?limit=10000&crs=gcj02')).features;
  const marks = await gcjBasemapServer(posts.map((f) => f.geometry.coordinates));
  await check('over a GCJ-02 basemap a post lands within a pixel of its mark at z16', async (open) => {
    const gridmap = await startGridmap(['--basemap', `${marks.url}/{z}/{x}/{y}.png`, '--basemap-crs', 'gcj02']);
    try {
      const config = await (await fetch(`${gridmap.url}/map/config.json`)).json();
      assert.equal(config.crs, 'gcj02');
      const post = posts[Math.floor(posts.length / 2)];
      const [lon, lat] = post.geometry.coordinates;
      const wgs = (await (await fetch(`${gridmap.url}/collections/stations/items/${post.id}`)).json()).geometry.coordinates;
      const { page } = await open(`#map=16/${lat}/${lon}`, gridmap.url);
      await settle(page);
      // Where the map draws the post (its icon's anchor), in CSS pixels of the map's canvas.
      const drawn = await eventually(page, () => page.evaluate((id) => {
        const f = window.map.queryRenderedFeatures({ layers: ['stations-symbol'] }).find((x) => x.id === id);
        if (!f) return null;
        const p = window.map.project(f.geometry.coordinates);
        return [p.x, p.y];
      }, post.id), (v) => v !== null);
      assert.ok(drawn, `post ${post.id} not drawn`);
      const off = await page.evaluate((c) => { const p = window.map.project(c); return [p.x, p.y]; }, wgs);
      await shot(page, 'basemap-gcj02');
      // Everything but the basemap hidden: the mark under the post shows.
      await page.evaluate(() => {
        for (const l of window.map.getStyle().layers) if (!['background', 'basemap'].includes(l.id)) window.map.setLayoutProperty(l.id, 'visibility', 'none');
      });
      await settle(page);
      const box = await page.locator('#map canvas').boundingBox();
      const png = await page.screenshot({ clip: box });
      // The red pixels near the post, weighted by redness, decoded by the browser's own PNG reader.
      const mark = await page.evaluate(async ({ b64, at }) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement('canvas');
        [c.width, c.height] = [img.width, img.height];
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const { data } = ctx.getImageData(0, 0, c.width, c.height);
        let [sx, sy, sw] = [0, 0, 0];
        for (let y = Math.max(0, Math.floor(at[1]) - 30); y < Math.min(c.height, at[1] + 30); y++) {
          for (let x = Math.max(0, Math.floor(at[0]) - 30); x < Math.min(c.width, at[0] + 30); x++) {
            const i = (y * c.width + x) * 4;
            const w = Math.max(0, data[i] - Math.max(data[i + 1], data[i + 2]) - 60);
            sx += w * (x + 0.5); sy += w * (y + 0.5); sw += w;
          }
        }
        return sw > 0 ? [sx / sw, sy / sw] : null;
      }, { b64: png.toString('base64'), at: drawn });
      assert.ok(mark, `no mark near the post at ${drawn}`);
      const gap = Math.hypot(mark[0] - drawn[0], mark[1] - drawn[1]);
      const wgsGap = Math.hypot(mark[0] - off[0], mark[1] - off[1]);
      console.log(`     post ${post.id}: ${gap.toFixed(2)} px from its mark (its WGS84 position: ${wgsGap.toFixed(0)} px)`);
      assert.ok(gap <= 1, `the post is drawn ${gap.toFixed(2)} px from its mark (${drawn} vs ${mark})`);
      assert.ok(wgsGap > 50, `the WGS84 position is only ${wgsGap} px from the mark: the test cannot tell`);
    } finally {
      gridmap.stop();
    }
  });
  marks.server.close();
}

await browser.close();
if (failures.length) {
  console.log(`${failures.length} browser check(s) failed: ${failures.join('; ')}`);
  process.exit(1);
}
console.log(`all browser checks passed; screenshots in ${artifacts}`);
