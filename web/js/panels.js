// The side panel's layer switcher and legend, and the feature popup.

import { GROUPS, SERVICES, drawPost, groupLayers, groupOf } from './style.js';
import { authed, editor } from './account.js';
import { api } from './crs.js';

// Build a DOM element: el('li', {class: 'x'}, child, 'text').
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// Checkboxes, one per group; `visible` is the set of group ids shown, `changed` is called after
// a toggle.
export function layerSwitcher(map, container, visible, changed) {
  for (const group of GROUPS) {
    const box = el('input', { type: 'checkbox', id: `layer-${group.id}`, 'data-group': group.id });
    box.checked = visible.has(group.id);
    box.addEventListener('change', () => {
      if (box.checked) visible.add(group.id);
      else visible.delete(group.id);
      applyVisibility(map, visible);
      changed();
    });
    container.append(el('label', { class: 'layer' }, box, ` ${group.label}`));
  }
}

export function applyVisibility(map, visible) {
  for (const group of GROUPS) {
    for (const layer of groupLayers(group)) {
      map.setLayoutProperty(layer.id, 'visibility', visible.has(group.id) ? 'visible' : 'none');
    }
  }
}

// Swatches drawn from the same definitions as the style.
export function legend(container) {
  for (const group of GROUPS) {
    const items = group.legend.map((entry) => el('li', {}, swatch(entry), ` ${entry.label}`));
    container.append(el('div', { class: 'legend-group' }, el('strong', {}, group.label), el('ul', {}, ...items)));
  }
}

function swatch(entry) {
  if (entry.kind === 'post') {
    const { image } = drawPost(entry.services.join(','), 1);
    const canvas = el('canvas', { width: image.width, height: image.height, class: 'swatch' });
    canvas.getContext('2d').putImageData(image, 0, 0);
    return canvas;
  }
  const style = {
    line: `border-top: ${entry.width}px ${entry.dash ? 'dashed' : 'solid'} ${entry.color}; height: 0; margin-bottom: 4px`,
    fill: `background: ${entry.color}; opacity: ${entry.opacity ?? 1}; border: 1px solid ${entry.outline || entry.color}`,
    circle: `background: ${entry.color}; border-radius: 50%; width: 10px; height: 10px`,
  }[entry.kind];
  return el('span', { class: `swatch swatch-${entry.kind}`, style });
}

// The style layers a click can pick, most specific first. Gaps are not picked themselves (they
// lie over the grids): the popup of what is under them says how many people they leave out.
export const CLICKABLE = ['stations-symbol', 'members-circle', 'grids-fill', 'villages-fill', 'towns-fill', 'alliances-fill'];

// Declared layers join the click order: their points before everything, their lines and areas
// after the posts and members (a post inside a risk zone opens the post).
export function addClickable(layers) {
  const points = layers.filter((l) => l.type === 'circle').map((l) => l.id);
  const others = layers.filter((l) => l.type !== 'circle').map((l) => l.id);
  CLICKABLE.unshift(...points);
  CLICKABLE.splice(CLICKABLE.indexOf('members-circle') + 1, 0, ...others);
}
const GAPS = ['coverage_gaps-fill', 'gaps-overlay-fill'];

const FIELD_LABELS = {
  worker_name: '网格员 worker', worker_phone: '网格员电话 worker phone', contact_phone: '值班电话 duty phone',
  code: '代码 code', name: '名称 name', kind: '类型 kind', mca_code: '民政代码 MCA code', town_code: '镇代码 town',
  village_code: '村代码 village', grid_code: '网格代码 grid', households: '户数 households', population: '人口 population',
  services: '服务 services', opening_hours: '开放时间 hours', theme: '主题 theme', founded: '成立 founded',
  alliance_id: '联合体 alliance', id: 'ID',
};

const LAYER_TITLES = {
  towns: '镇 town', villages: '村 village', grids: '网格 grid', stations: '网格驿站 grid post', members: '成员 member',
  alliances: '功能型联合体 alliance',
};

const visibleLayers = (map, ids) => ids.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');

// The most specific feature under `point` (or null), and the coverage gaps there.
export function pickFeature(map, point) {
  const found = map.queryRenderedFeatures(point, { layers: visibleLayers(map, CLICKABLE) });
  found.sort((a, b) => CLICKABLE.indexOf(a.layer.id) - CLICKABLE.indexOf(b.layer.id));
  const gaps = map.queryRenderedFeatures(point, { layers: visibleLayers(map, GAPS) });
  return found[0] ? { feature: found[0], gaps } : null;
}

// A popup with the feature's public properties, then its parent town, village and grid
// (from /locate at the post, or at the clicked point inside an area).
export async function showPopup(map, { feature, gaps }, lngLat) {
  const group = groupOf(feature.layer.id);
  const kind = group.id;
  const described = Object.fromEntries((group.fields || []).map((f) => [f.name, f.description || f.name]));
  const props = feature.properties;
  const at = feature.geometry.type === 'Point' ? { lng: feature.geometry.coordinates[0], lat: feature.geometry.coordinates[1] } : lngLat;
  const rows = Object.entries(props)
    .filter(([k]) => k !== 'name')
    .map(([k, v]) => el('tr', {}, el('th', {}, FIELD_LABELS[k] || (group.declared && described[k]) || k), el('td', {}, formatValue(k, v))));
  for (const gap of gaps) {
    const radius = gap.properties.radius_m ? `${gap.properties.radius_m} m` : document.getElementById('coverage-radius-value')?.textContent;
    rows.push(el('tr', { class: 'gap' }, el('th', {}, `覆盖缺口 gap (${radius})`),
      el('td', {}, `${gap.properties.name}: ${Math.round(gap.properties.uncovered_population).toLocaleString('zh-CN')} 人未覆盖 people uncovered`)));
  }
  // How many levels above the feature to name: none for a town or an alliance (which spans
  // villages).
  const depth = { towns: 0, alliances: 0, villages: 1, grids: 2, members: 2 }[kind] ?? 3;
  const parents = el('p', { class: 'parents' }, depth ? '…' : '丹阳市');
  const body = el('div', { class: 'popup', 'data-layer': kind },
    el('div', { class: 'popup-kind' }, LAYER_TITLES[kind] || group.label),
    el('h3', {}, props.name ?? props.code ?? ''),
    parents,
    el('table', {}, ...rows));
  // Signed in, a feature can be edited from here (built-in keys are code, or id for posts,
  // members and alliances; a declared layer names its key).
  const key = group.declared ? props[group.key] : props.code ?? props.id;
  if (key !== undefined) {
    const tools = editor(kind, key, body);
    if (tools) body.append(tools);
  }
  const popup = new maplibregl.Popup({ maxWidth: '320px' }).setLngLat(lngLat).setDOMContent(body).addTo(map);
  if (depth) {
    try {
      const loc = await (await fetch(api(`locate?lon=${at.lng}&lat=${at.lat}`), authed())).json();
      const chain = [loc.town, loc.village, loc.grid].slice(0, depth).filter(Boolean);
      parents.textContent = chain.length ? chain.map((p) => p.name).join(' › ') : '丹阳市';
    } catch (e) {
      parents.textContent = '';
    }
  }
  return popup;
}

function formatValue(key, value) {
  if (key === 'services') {
    return String(value).split(',').map((s) => SERVICES.find((x) => x.id === s)?.label || s).join('、');
  }
  return String(value);
}
