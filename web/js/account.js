// Signing in with an account's token, and editing a feature's attributes from its popup.
// The token lives in this tab's sessionStorage (gone when the tab closes) and is sent only as
// `Authorization: Bearer` to gridmap itself: with it, tiles, popups and /locate carry the staff
// and personal fields of the account's area, and the popup offers to edit.

import { el } from './panels.js';

const KEY = 'gridmap.token';
export const token = () => sessionStorage.getItem(KEY);

// Fetch options with the token, for requests to gridmap.
export function authed(init = {}) {
  const t = token();
  return t ? { ...init, headers: { ...(init.headers || {}), Authorization: `Bearer ${t}` } } : init;
}

// MapLibre's transformRequest: the token on every request to this server (its tiles).
export function transformRequest(url) {
  const t = token();
  if (!t || new URL(url, window.location.href).origin !== window.location.origin) return undefined;
  return { url, headers: { Authorization: `Bearer ${t}` } };
}

// The sign-in form: a token field, then who is signed in. Signing in or out reloads the page, so
// every tile is fetched again as the new caller.
export async function signIn(container) {
  const status = el('p', { id: 'account-status', class: 'summary' });
  if (token()) {
    const res = await fetch('health', authed());
    const health = res.ok ? await res.json() : null;
    if (health?.features) {
      status.textContent = '已登录 Signed in: staff fields of your area are shown';
      container.append(status, el('button', { id: 'account-signout', onclick: () => { sessionStorage.removeItem(KEY); window.location.reload(); } }, '退出 Sign out'));
      return;
    }
    sessionStorage.removeItem(KEY);
    status.textContent = `令牌无效 The saved token no longer works (${res.status}); sign in again`;
  }
  const input = el('input', { id: 'account-token', type: 'password', placeholder: 'gm_…', autocomplete: 'off', 'aria-label': 'token' });
  const submit = async () => {
    const value = input.value.trim();
    if (!value) return;
    const res = await fetch('health', { headers: { Authorization: `Bearer ${value}` } });
    if (res.ok) {
      sessionStorage.setItem(KEY, value);
      window.location.reload();
    } else {
      const body = await res.json().catch(() => ({}));
      status.textContent = `${res.status}: ${body.message || 'sign-in failed'}`;
    }
  };
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') submit(); });
  container.append(el('label', {}, '令牌 Token ', input), el('button', { id: 'account-signin', onclick: submit }, '登录 Sign in'), status);
}

// The fields a popup's editor leaves alone: keys and the parent codes that place a feature.
const FIXED = new Set(['id', 'code', 'village_code', 'grid_code', 'alliance_id', 'town_code']);

// An "Edit" button for a built-in feature, and the form it opens: the feature as stored (with its
// ETag), one input per attribute, saved by a JSON merge patch with If-Match. A 412 (someone saved
// first) and a 403 (outside the account's area) are explained, never retried blindly.
export function editor(layer, key, popupBody) {
  if (!token()) return null;
  const status = el('p', { class: 'edit-status' });
  const button = el('button', { class: 'edit-open' }, '编辑 Edit');
  button.addEventListener('click', async () => {
    button.disabled = true;
    const url = `collections/${layer}/items/${encodeURIComponent(key)}`;
    const res = await fetch(url, authed());
    const etag = res.headers.get('ETag');
    if (!res.ok || !etag) {
      // No ETag: the account does not see the whole feature (outside its area, or a viewer).
      status.textContent = res.ok ? '只读 Read only: your account cannot edit this feature' : `${res.status}`;
      return;
    }
    const feature = await res.json();
    let current = etag;
    const inputs = Object.entries(feature.properties)
      .filter(([k]) => !FIXED.has(k))
      .map(([k, v]) => [k, v, typeof v === 'boolean'
        ? el('input', { name: k, type: 'checkbox', checked: v })
        : el('input', { name: k, value: Array.isArray(v) ? v.join(',') : (v ?? '') })]);
    const save = el('button', { class: 'edit-save' }, '保存 Save');
    save.addEventListener('click', async () => {
      const properties = {};
      for (const [k, old, input] of inputs) {
        const text = input.value.trim();
        let value;
        if (typeof old === 'boolean') value = input.checked;
        else if (Array.isArray(old)) value = text.split(',').map((s) => s.trim()).filter(Boolean);
        else if (typeof old === 'number') {
          value = Number(text);
          if (text === '' || !Number.isFinite(value)) {
            status.textContent = `${k}: 请填写数字 give a number`;
            return;
          }
        } else value = text === '' && old === null ? null : input.value;
        if (JSON.stringify(value) !== JSON.stringify(old)) properties[k] = value;
      }
      const put = await fetch(url, authed({
        method: 'PATCH',
        headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': current },
        body: JSON.stringify({ properties }),
      }));
      const body = await put.json().catch(() => ({}));
      if (put.ok) {
        current = put.headers.get('ETag') || current;
        status.textContent = '已保存 Saved';
      } else if (put.status === 412) {
        status.textContent = '412: 此要素已被他人修改 Someone saved this feature after you opened it; close the popup and open it again to see their change, then edit again';
      } else {
        status.textContent = `${put.status}: ${body.message || 'not saved'}`;
      }
    });
    popupBody.append(el('form', { class: 'edit', onsubmit: (e) => e.preventDefault() },
      ...inputs.map(([k, , input]) => el('label', {}, `${k} `, input)), save));
  });
  return el('div', { class: 'edit-tools' }, button, status);
}
