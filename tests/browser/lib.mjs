// Shared by map.test.mjs and bench.mjs: Debian's Chromium driven by playwright-core, and the
// helpers that wait for the map.

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// Headless, as root in CI, with Chromium's own background traffic off (this machine has no
// internet: those connections would fail and muddy "no request leaves 127.0.0.1").
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-default-apps',
      '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    ],
  });
}

// Resolves with the page's first-render time (ms since navigation start) once the map is idle.
export function ready(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const wait = () => (window.gridmap ? window.gridmap.ready.then(resolve) : setTimeout(wait, 20));
    wait();
  }));
}

// Moves the map and waits until every tile of the new view is rendered.
export function jumpAndSettle(page, view) {
  return page.evaluate((v) => new Promise((resolve) => {
    window.map.once('idle', resolve);
    window.map.jumpTo(v);
  }), view);
}

// Waits for the map to stop moving and finish rendering (after a fly-to, say).
export function settle(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const check = () => (window.map.isMoving() || !window.map.loaded() ? window.map.once('idle', check) : resolve());
    check();
  }));
}
