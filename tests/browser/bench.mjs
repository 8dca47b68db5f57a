// First render of /map at the city view in headless Chromium: node bench.mjs BASE_URL [RUNS]
// Each run is a new browser context (cold cache): time from navigation start to the map's first
// idle frame (window.gridmap.ready), and the bytes on the wire (bodies as sent, gzip or not).
// With GRIDMAP_BENCH_TOKEN (an account's token), each run then opens the statistics panel and
// times its first shading (window.gridmap.firstShadingMs: from opening the panel to the first
// shaded frame); the first run is the server's first statistics request.
// scripts/bench-map starts a release server and runs this; BENCHMARKS.md has the figures.

import { launch, ready } from './lib.mjs';

const [base, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 10);
const browser = await launch();
const times = [];
const shadings = [];
const token = process.env.GRIDMAP_BENCH_TOKEN;
let lastBytes = 0;
let lastRequests = 0;
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const sizes = [];
  page.on('requestfinished', (r) => sizes.push(r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize)));
  await page.goto(`${base}/map`);
  times.push(await ready(page));
  await page.waitForLoadState('networkidle');
  lastBytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
  lastRequests = sizes.length;
  if (token) {
    await page.evaluate((v) => sessionStorage.setItem('gridmap.token', v), token);
    await page.reload();
    await ready(page);
    await page.click('#stats-box summary');
    await page.waitForFunction(() => window.gridmap.firstShadingMs !== undefined, null, { timeout: 60_000 });
    shadings.push(await page.evaluate(() => window.gridmap.firstShadingMs));
  }
  await context.close();
}
await browser.close();
times.sort((a, b) => a - b);
const pick = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
console.log(`first render over ${runs} cold loads: median ${pick(0.5).toFixed(0)} ms, min ${times[0].toFixed(0)} ms, max ${times.at(-1).toFixed(0)} ms`);
if (shadings.length) {
  const sorted = [...shadings].sort((a, b) => a - b);
  console.log(`statistics panel's first shading: first run ${shadings[0].toFixed(0)} ms, median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms, max ${sorted.at(-1).toFixed(0)} ms`);
}
console.log(`page weight: ${(lastBytes / 1024).toFixed(0)} KiB in ${lastRequests} requests (budget 1536 KiB)`);
