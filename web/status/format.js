// Text for times, durations and payloads, and the small DOM helpers the tables share.
// Everything shown goes through textContent: no data ever reaches innerHTML.

/** Seconds as the two largest units: `45s`, `3m 12s`, `3h 5m`, `2d 4h`. */
export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** How long ago `ms` milliseconds was: `just now`, `12s ago`, `3h 5m ago`. */
export function ago(ms) {
  if (!Number.isFinite(ms)) return '–';
  return ms < 1000 ? 'just now' : `${duration(ms / 1000)} ago`;
}

/** The server's clock minus ours: relative times are computed in the server's clock. */
let skewMs = 0;

/** Note the server's current time (from a `broker` event), so ages match its clock. */
export function setServerNow(serverMs) {
  if (Number.isFinite(serverMs)) skewMs = serverMs - Date.now();
}

export function serverNow() {
  return Date.now() + skewMs;
}

/**
 * Show `iso` in `node` as a duration (`dur`) or an age (`ago`), kept current by
 * {@link tickAll}; `null` shows a dash.
 */
export function setRelative(node, iso, fmt) {
  if (!iso) {
    delete node.dataset.at;
    node.textContent = '–';
    node.title = '';
    return;
  }
  node.dataset.at = iso;
  node.dataset.fmt = fmt;
  node.title = fmt === 'dur' ? `since ${stamp(iso)}` : stamp(iso);
  tickOne(node);
}

function tickOne(node) {
  const ms = Math.max(0, serverNow() - Date.parse(node.dataset.at));
  node.textContent = node.dataset.fmt === 'dur' ? duration(ms / 1000) : ago(ms);
}

/** Bring every relative time on the page up to now (once a second). */
export function tickAll() {
  for (const node of document.querySelectorAll('[data-at]')) tickOne(node);
}

/** A timestamp as local wall-clock time with milliseconds (for the live messages). */
export function clock(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '–';
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
}

/** A local date and time for tooltips. */
export function stamp(iso) {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? '' : t.toLocaleString();
}

/**
 * What other programs wrote that must not act on the page: controls (C0 but tab, DEL,
 * C1), and the bidirectional embeddings, overrides and isolates, which would show the
 * rest of a cell (a client id, a topic) reversed or reordered.
 */
const HIDDEN = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const SHORT = { '\n': '\\n', '\r': '\\r', '\b': '\\b', '\f': '\\f' };

/** `text` with {@link HIDDEN} characters written out as JSON writes them (`\n`, `\u202e`). */
export function visible(text) {
  return String(text).replace(HIDDEN, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Terminal control sequences a script may print (colours, cursor moves): ESC [ parameters, final byte. */
const CSI = /\u001b\[[0-?]*[ -/]*[@-~]/g;

/** A line of a script's output as the page shows it: without terminal colours, controls written out. */
export function outputText(text) {
  return visible(String(text).replace(CSI, ''));
}

/** A payload as one line of JSON; a cut payload arrives as its cut text and stays so. */
export function compact(payload, truncated) {
  if (truncated && typeof payload === 'string') return visible(`${payload}…`);
  if (payload === undefined) return '';
  try {
    return visible(JSON.stringify(payload));
  } catch {
    return visible(String(payload));
  }
}

/** A whole number with thousands separators. */
export function count(n) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US') : '–';
}

/** A rate with one decimal below 10, whole above. */
export function rate(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
}

/**
 * Build an element: `el('td', {className: 'num', title: 'x'}, 'text', child)`. Strings
 * become text nodes, so data can never be parsed as markup.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return node;
}

/**
 * Bring `tbody` to one row per item, in order, reusing each key's row: a row the reader
 * is pointing at or a button with focus survives the once-a-second refresh.
 */
export function syncRows(tbody, items, keyOf, create, update) {
  const old = new Map();
  for (const tr of tbody.rows) old.set(tr.dataset.key, tr);
  let at = tbody.firstElementChild;
  for (const item of items) {
    const key = String(keyOf(item));
    let tr = old.get(key);
    if (tr) old.delete(key);
    else {
      tr = create(item);
      tr.dataset.key = key;
    }
    update(tr, item);
    if (tr !== at) tbody.insertBefore(tr, at);
    else at = at.nextElementSibling;
  }
  for (const tr of old.values()) tr.remove();
}
