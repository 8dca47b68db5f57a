// Small SVG charts for the statistics panel and the big screen: stacked bars (events by
// category per month) and lines (a share per unit per month). Drawn here rather than with a
// chart library: these two kinds take about 3 KB, a library 50 KB or more gzipped. Every mark
// carries its series, period and value in data-* attributes, so that tests read what was drawn.

const SVG = 'http://www.w3.org/2000/svg';

// Twelve distinct colours (Tableau 10 and two of Tableau 20), for categories and units: enough
// for Danyang's towns.
export const SERIES_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#86bcb6', '#d37295'];

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

// A round number at or above `v` (1, 2 or 5 times a power of ten), for the top of an axis.
export function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((n) => n >= v);
}

// The frame both kinds share: the plot area, the y axis with three gridlines, and the period
// labels (every label when few, else about six).
function frame(labels, yMax, format, { width, height }) {
  const pad = { left: 34, right: 6, top: 6, bottom: 18 };
  const plot = { x: pad.left, y: pad.top, w: width - pad.left - pad.right, h: height - pad.top - pad.bottom };
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'chart', role: 'img' });
  for (const f of [0, 0.5, 1]) {
    const y = plot.y + plot.h * (1 - f);
    root.append(svg('line', { x1: plot.x, x2: plot.x + plot.w, y1: y, y2: y, class: 'chart-grid' }));
    const text = svg('text', { x: plot.x - 3, y: y + 3, 'text-anchor': 'end', class: 'chart-tick' });
    text.textContent = format(yMax * f);
    root.append(text);
  }
  const step = plot.w / Math.max(labels.length, 1);
  const every = Math.max(1, Math.ceil(labels.length / 6));
  labels.forEach((label, i) => {
    if (i % every !== 0) return;
    const text = svg('text', { x: plot.x + step * (i + 0.5), y: plot.y + plot.h + 13, 'text-anchor': 'middle', class: 'chart-tick' });
    // A month's label without its year (2026-03 reads 03), the year on the first and on January.
    text.textContent = /^\d{4}-\d{2}$/.test(label) && i !== 0 && !label.endsWith('-01') ? label.slice(5) : label;
    root.append(text);
  });
  return { root, plot, step };
}

function legendOf(series) {
  const ul = document.createElement('ul');
  ul.className = 'chart-legend';
  series.forEach((s, i) => {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch swatch-fill';
    swatch.style.background = SERIES_COLORS[i % SERIES_COLORS.length];
    li.append(swatch, ` ${s.name}`);
    ul.append(li);
  });
  return ul;
}

function figure(title, chart, legend) {
  const fig = document.createElement('figure');
  fig.className = 'chart-figure';
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  fig.append(caption, chart, legend);
  return fig;
}

// Bars per period, one segment per series stacked bottom-up: `series` is [{ id, name, values }],
// `values[k]` for `labels[k]` (null counts as 0).
export function stackedBars(title, labels, series, { width = 272, height = 150 } = {}) {
  const totals = labels.map((_, k) => series.reduce((sum, s) => sum + (s.values[k] || 0), 0));
  const yMax = niceCeil(Math.max(0, ...totals));
  const { root, plot, step } = frame(labels, yMax, (v) => String(Math.round(v)), { width, height });
  const barW = Math.max(1, step * 0.7);
  labels.forEach((label, k) => {
    let y = plot.y + plot.h;
    series.forEach((s, i) => {
      const v = s.values[k] || 0;
      if (v <= 0) return;
      const h = (v / yMax) * plot.h;
      y -= h;
      const rect = svg('rect', {
        x: plot.x + step * k + (step - barW) / 2, y, width: barW, height: h,
        fill: SERIES_COLORS[i % SERIES_COLORS.length], class: 'chart-bar',
        'data-period': label, 'data-series': s.id, 'data-value': v,
      });
      const tip = svg('title');
      tip.textContent = `${label} · ${s.name}: ${v}`;
      rect.append(tip);
      root.append(rect);
    });
  });
  return figure(title, root, legendOf(series));
}

// A line per series over the periods, broken where a value is null; `yMax` fixes the axis (1
// for shares), else it is rounded up from the values.
export function lines(title, labels, series, { width = 272, height = 150, yMax, format = (v) => `${Math.round(v * 100)}%` } = {}) {
  const top = yMax ?? niceCeil(Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null))));
  const { root, plot, step } = frame(labels, top, format, { width, height });
  const at = (k, v) => [plot.x + step * (k + 0.5), plot.y + plot.h * (1 - v / top)];
  series.forEach((s, i) => {
    const color = SERIES_COLORS[i % SERIES_COLORS.length];
    let d = '';
    let pen = false;
    s.values.forEach((v, k) => {
      if (v === null || v === undefined) {
        pen = false;
        return;
      }
      const [x, y] = at(k, v);
      d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
      pen = true;
      const dot = svg('circle', { cx: x, cy: y, r: 2, fill: color, class: 'chart-point', 'data-period': labels[k], 'data-series': s.id, 'data-value': v });
      const tip = svg('title');
      tip.textContent = `${labels[k]} · ${s.name}: ${format(v)}`;
      dot.append(tip);
      root.append(dot);
    });
    if (d) root.append(svg('path', { d, fill: 'none', stroke: color, 'stroke-width': 1.5, class: 'chart-line', 'data-series': s.id }));
  });
  return figure(title, root, legendOf(series));
}
