// How each tile layer is drawn: the MapLibre style layers of every switchable group, with
// their legend entries. Pure data and small helpers; main.js adds them to the map.

// System fonts only (no glyph server): MapLibre draws every label locally with the first of
// these the browser has, so Chinese names render offline.
export const FONT = ['Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', 'WenQuanYi Zen Hei', 'sans-serif'];

// Services of a grid post, in the order of their quadrant in the post symbol (clockwise from
// the top left).
export const SERVICES = [
  { id: 'policy', label: '政策宣讲 policy', color: '#1f6fd1' },
  { id: 'mediation', label: '矛盾调解 mediation', color: '#e08a00' },
  { id: 'relief', label: '帮扶救助 relief', color: '#c62f3b' },
  { id: 'civility', label: '文明实践 civility', color: '#2e9d57' },
];

const MEMBER_KINDS = [
  { id: 'village', label: '村 village', color: '#7a5c2e' },
  { id: 'enterprise', label: '企业 enterprise', color: '#6a3d9a' },
  { id: 'bank', label: '银行 bank', color: '#b8860b' },
  { id: 'agency', label: '机关 agency', color: '#2b6f8f' },
];

const halo = { 'text-halo-color': 'rgba(255,255,255,0.92)', 'text-halo-width': 1.6 };

// The switchable groups, drawn in this order (first at the bottom). `on`: visible by default.
export const GROUPS = [
  {
    id: 'towns', label: '镇 Towns', on: true,
    legend: [{ kind: 'line', color: '#5b2a86', width: 3, label: '镇界 town boundary' }],
    layers: [
      { id: 'towns-fill', type: 'fill', 'source-layer': 'towns', paint: { 'fill-color': '#f3ecfa', 'fill-opacity': ['interpolate', ['linear'], ['zoom'], 9, 0.55, 13, 0] } },
      { id: 'towns-line', type: 'line', 'source-layer': 'towns', paint: { 'line-color': '#5b2a86', 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 1.5, 12, 3, 16, 4] } },
    ],
    labels: [
      { id: 'towns-label', type: 'symbol', 'source-layer': 'towns_labels', maxzoom: 13,
        layout: { 'text-field': ['get', 'name'], 'text-font': FONT, 'text-size': ['interpolate', ['linear'], ['zoom'], 9, 13, 12, 18] },
        paint: { 'text-color': '#3b1760', ...halo } },
    ],
  },
  {
    id: 'alliances', label: '功能型联合体 Alliances', on: false,
    legend: [{ kind: 'fill', color: '#2e9d57', opacity: 0.2, outline: '#2e9d57', label: '联合体范围 alliance footprint' }],
    layers: [
      { id: 'alliances-fill', type: 'fill', 'source-layer': 'alliances', paint: { 'fill-color': '#2e9d57', 'fill-opacity': 0.15 } },
      { id: 'alliances-line', type: 'line', 'source-layer': 'alliances', paint: { 'line-color': '#2e9d57', 'line-width': 1.5, 'line-dasharray': [3, 2] } },
    ],
  },
  {
    id: 'coverage_gaps', label: '覆盖缺口 Coverage gaps (500 m)', on: true,
    legend: [{ kind: 'fill', color: '#e4572e', opacity: 0.35, label: '500 m 步行范围外 beyond 500 m of a post' }],
    layers: [
      { id: 'coverage_gaps-fill', type: 'fill', 'source-layer': 'coverage_gaps', paint: { 'fill-color': '#e4572e', 'fill-opacity': 0.3 } },
    ],
  },
  {
    id: 'villages', label: '村（社区） Villages', on: true,
    legend: [{ kind: 'line', color: '#3d6e9e', width: 1.5, label: '村界 village boundary' }],
    layers: [
      { id: 'villages-fill', type: 'fill', 'source-layer': 'villages', paint: { 'fill-color': '#3d6e9e', 'fill-opacity': 0 } },
      { id: 'villages-line', type: 'line', 'source-layer': 'villages', paint: { 'line-color': '#3d6e9e', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 0.6, 14, 1.8], 'line-opacity': 0.9 } },
    ],
    labels: [
      { id: 'villages-label', type: 'symbol', 'source-layer': 'villages_labels', minzoom: 12, maxzoom: 16,
        layout: { 'text-field': ['get', 'name'], 'text-font': FONT, 'text-size': ['interpolate', ['linear'], ['zoom'], 12, 11, 15, 14] },
        paint: { 'text-color': '#24476b', ...halo } },
    ],
  },
  {
    id: 'grids', label: '网格 Grids', on: true,
    legend: [{ kind: 'line', color: '#8a8f98', width: 1, dash: true, label: '网格界 grid boundary' }],
    layers: [
      { id: 'grids-fill', type: 'fill', 'source-layer': 'grids', paint: { 'fill-color': '#8a8f98', 'fill-opacity': 0 } },
      { id: 'grids-line', type: 'line', 'source-layer': 'grids', paint: { 'line-color': '#6b7079', 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 0.4, 16, 1.2], 'line-dasharray': [2, 1.5] } },
    ],
    labels: [
      { id: 'grids-label', type: 'symbol', 'source-layer': 'grids_labels', minzoom: 15,
        layout: { 'text-field': ['get', 'name'], 'text-font': FONT, 'text-size': 11 },
        paint: { 'text-color': '#4a4f57', ...halo } },
    ],
  },
  {
    id: 'members', label: '联合体成员 Alliance members', on: false,
    legend: MEMBER_KINDS.map((k) => ({ kind: 'circle', color: k.color, label: k.label })),
    layers: [
      { id: 'members-circle', type: 'circle', 'source-layer': 'members',
        paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 3, 16, 6], 'circle-color': ['match', ['get', 'kind'], ...MEMBER_KINDS.flatMap((k) => [k.id, k.color]), '#777'], 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } },
    ],
  },
  {
    id: 'stations', label: '网格驿站 Grid posts', on: true,
    legend: SERVICES.map((s) => ({ kind: 'post', services: [s.id], label: s.label })),
    // Up to z10 the tiles hold clusters (posts per 64-pixel cell, with their count), then posts.
    // A count never hides a town or village name (it ignores placement).
    layers: [
      { id: 'stations-clusters', type: 'circle', 'source-layer': 'stations_clusters',
        paint: { 'circle-radius': ['interpolate', ['linear'], ['get', 'count'], 1, 5, 10, 9, 100, 16], 'circle-color': '#1f6fd1', 'circle-opacity': 0.85, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } },
    ],
    labels: [
      { id: 'stations-clusters-count', type: 'symbol', 'source-layer': 'stations_clusters',
        layout: { 'text-field': ['to-string', ['get', 'count']], 'text-font': FONT, 'text-size': 10, 'text-allow-overlap': true, 'text-ignore-placement': true },
        paint: { 'text-color': '#fff' } },
      { id: 'stations-symbol', type: 'symbol', 'source-layer': 'stations',
        layout: { 'icon-image': ['concat', 'post:', ['get', 'services']], 'icon-size': ['interpolate', ['linear'], ['zoom'], 11, 0.55, 15, 1], 'icon-allow-overlap': true,
          'text-field': ['step', ['zoom'], '', 14, ['get', 'name']], 'text-font': FONT, 'text-size': 11, 'text-offset': [0, 1.3], 'text-anchor': 'top', 'text-optional': true },
        paint: { 'text-color': '#1d2530', ...halo } },
    ],
  },
];

// Colours of declared layers, in declaration order.
const PALETTE = ['#c0392b', '#d35400', '#8e44ad', '#16a085', '#2c3e50', '#b7950b', '#1f618d', '#7b241c'];

// One switchable group per declared layer (/map/config.json `declared`), off by default: points
// as circles, lines as lines, polygons as a tint with an outline; names from z15 when the
// layer has a label field.
export function declaredGroups(declared) {
  return declared.map((d, i) => {
    const color = PALETTE[i % PALETTE.length];
    const at = { 'source-layer': d.id, minzoom: d.minzoom, maxzoom: d.maxzoom + 1 };
    const shape = {
      point: [{ id: `${d.id}-circle`, type: 'circle', ...at, paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 3, 16, 6], 'circle-color': color, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } }],
      line: [{ id: `${d.id}-line`, type: 'line', ...at, paint: { 'line-color': color, 'line-width': 2 } }],
      polygon: [
        { id: `${d.id}-fill`, type: 'fill', ...at, paint: { 'fill-color': color, 'fill-opacity': 0.18 } },
        { id: `${d.id}-line`, type: 'line', ...at, paint: { 'line-color': color, 'line-width': 1.2 } },
      ],
    }[d.geometry];
    const labels = d.label ? [{ id: `${d.id}-label`, type: 'symbol', ...at, minzoom: Math.max(15, d.minzoom),
      layout: { 'text-field': ['get', d.label], 'text-font': FONT, 'text-size': 11, 'text-offset': d.geometry === 'point' ? [0, 1.1] : [0, 0], 'text-anchor': d.geometry === 'point' ? 'top' : 'center', 'text-optional': true },
      paint: { 'text-color': color, ...halo } }] : [];
    const legendKind = { point: 'circle', line: 'line', polygon: 'fill' }[d.geometry];
    return {
      // A staff layer shows only to accounts, inside their area: say so in the switcher.
      id: d.id, label: d.staff ? `${d.title} · 仅工作人员 staff only` : d.title, on: false, declared: true, key: d.key, fields: d.fields,
      legend: [{ kind: legendKind, color, width: 2, opacity: 0.35, outline: color, label: d.title }],
      layers: shape, labels,
    };
  });
}

// The style layer a click picks in each declared group: its points, else its area or line.
export function declaredClickable(groups) {
  const pick = (g) => g.layers.find((l) => l.type === 'circle') || g.layers.find((l) => l.type === 'fill') || g.layers[0];
  return groups.map(pick);
}

// Every style layer of a group, geometry before labels (main.js draws all geometry, then all
// labels and symbols, so posts and names stay on top).
export function groupLayers(group) {
  return [...group.layers, ...(group.labels || [])];
}

// Which group a style layer id belongs to.
export function groupOf(layerId) {
  return GROUPS.find((g) => groupLayers(g).some((l) => l.id === layerId));
}

// The post symbol: a white disc with one coloured quadrant per service offered, drawn on a
// canvas (no sprite sheet to fetch). `services` as in the tiles: "policy,mediation".
export function drawPost(services, pixelRatio = 2) {
  const size = 26 * pixelRatio;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext('2d');
  const c = size / 2;
  const r = size / 2 - 2 * pixelRatio;
  ctx.beginPath();
  ctx.arc(c, c, r, 0, 2 * Math.PI);
  ctx.fillStyle = '#ffffff';
  ctx.fill();
  const offered = new Set(String(services).split(','));
  SERVICES.forEach((s, i) => {
    if (!offered.has(s.id)) return;
    const start = -Math.PI + (i * Math.PI) / 2;
    ctx.beginPath();
    ctx.moveTo(c, c);
    ctx.arc(c, c, r - pixelRatio, start, start + Math.PI / 2);
    ctx.closePath();
    ctx.fillStyle = s.color;
    ctx.fill();
  });
  ctx.beginPath();
  ctx.arc(c, c, r, 0, 2 * Math.PI);
  ctx.lineWidth = 1.5 * pixelRatio;
  ctx.strokeStyle = '#1d2530';
  ctx.stroke();
  return { image: ctx.getImageData(0, 0, size, size), pixelRatio };
}
