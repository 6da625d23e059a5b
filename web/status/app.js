// The status page: header counters, clients, scripts, the rate chart, recent topics and a
// live view of one topic filter, kept current by server-sent events (docs/status-page.md).
import { RateChart } from './chart.js';
import { ScriptsView } from './scripts.js';
import { clock, compact, count, el, rate, serverNow, setRelative, setServerNow, stamp, syncRows, tickAll, visible } from './format.js';

const MAX_MESSAGES = 200;
const TOPICS_REFRESH_MS = 3000;
const RETRY_MS = [1000, 2000, 5000, 10000];
/** Clients ping every heartbeat interval; one silent for two is worth a look. */
const DEFAULT_HEARTBEAT_S = 5;

const $ = (id) => document.getElementById(id);

let heartbeatS = DEFAULT_HEARTBEAT_S;

/** An error the API answered with: its `code` says which one, not its text. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Fetch JSON from the API; a 401 means the session ended, so sign in again. */
async function api(path, init) {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  if (res.status === 401) {
    location.assign('/login');
    throw new ApiError(401, 'unauthorized', 'signed out');
  }
  if (!res.ok) {
    const e = (await res.json().catch(() => null))?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`);
  }
  return res.json();
}

/** Log a failure the page cannot show anywhere better, keeping the page running. */
function report(where) {
  return (err) => console.warn(`status page: ${where}:`, err?.message ?? err);
}

// ---- header and chart ---------------------------------------------------------------

const chart = new RateChart($('rate-chart'), $('rate-peak'));

function renderBroker(b) {
  if (!b) return;
  const started = Date.parse(b.started_at);
  if (typeof b.uptime === 'number') setServerNow(started + b.uptime * 1000);
  const hb = b.heartbeat_interval ?? b.config?.heartbeat_interval;
  if (typeof hb === 'number' && hb > 0) heartbeatS = hb;
  $('c-version').textContent = b.version ?? '–';
  setRelative($('c-uptime'), b.started_at, 'dur');
  $('c-online').textContent = count(b.gauges?.clients_online);
  $('c-messages').textContent = count(b.counters?.messages);
  $('c-rate').textContent = rate(b.rates?.messages_per_s);
  if (b.history) chart.setHistory(b.history);
  else if (b.rates && Number.isFinite(started)) {
    // Pushed on the sampler's tick: the rates are the second that ended just now.
    chart.add(started + b.uptime * 1000, b.rates);
  }
}

// ---- clients ----------------------------------------------------------------------

const clientsBody = document.querySelector('#clients tbody');

function renderClients(data) {
  const rows = Array.isArray(data?.clients) ? [...data.clients] : [];
  rows.sort((a, b) => Number(b.online) - Number(a.online) || String(a.client_id).localeCompare(String(b.client_id)));
  syncRows(clientsBody, rows, (c) => c.client_id, createClientRow, updateClientRow);
  $('clients-empty').hidden = rows.length > 0;
  const online = rows.filter((c) => c.online).length;
  $('clients-count').textContent = rows.length ? `${online} online, ${rows.length - online} offline` : '';
  markQuietClients();
}

function createClientRow() {
  const subs = el('details', { className: 'subs' }, el('summary'), el('ul'));
  return el(
    'tr',
    {},
    el('td', { className: 'id' }, el('span', { className: 'dot' }), el('span', { className: 'name' })),
    el('td', { className: 'type' }),
    el('td', { className: 'address' }),
    el('td', { className: 'since' }),
    el('td', { className: 'seen' }),
    el('td', { className: 'subs num' }, subs),
    el('td', { className: 'queued num' }),
    el('td', { className: 'dropped num' }),
  );
}

function updateClientRow(tr, c) {
  const cell = (name) => tr.querySelector(`td.${name}`);
  tr.classList.toggle('offline', !c.online);
  tr.querySelector('.dot').classList.toggle('on', Boolean(c.online));
  tr.querySelector('.dot').title = c.online ? 'online' : 'offline';
  tr.querySelector('.name').textContent = visible(c.client_id);
  cell('id').title = `${c.online ? 'online' : 'offline'}${c.identity ? `, identity ${c.identity}` : ''}`;
  cell('type').textContent = visible(c.client_type ?? '');
  cell('address').textContent = c.address ?? '–';
  setRelative(cell('since'), c.connected_at, 'dur');
  setRelative(cell('seen'), c.last_seen, 'ago');
  // Only a client that pings can be called quiet: AutoHotkey clients never ping.
  tr.dataset.lastSeen = c.online && c.pings && c.last_seen ? c.last_seen : '';
  const subs = Array.isArray(c.subscriptions) ? c.subscriptions : [];
  const details = tr.querySelector('details');
  details.querySelector('summary').textContent = String(subs.length);
  details.title = subs.map(visible).join('\n');
  const list = details.querySelector('ul');
  if (list.dataset.subs !== subs.join('\n')) {
    list.dataset.subs = subs.join('\n');
    list.replaceChildren(...subs.map((s) => el('li', { textContent: visible(s) })));
  }
  if (subs.length === 0) details.open = false;
  cell('queued').textContent = count(c.queued);
  const dropped = cell('dropped');
  dropped.textContent = count(c.dropped);
  dropped.classList.toggle('hot', c.dropped > 0);
}

/** An online client that pings and has not been heard from for two heartbeat intervals. */
function markQuietClients() {
  const limit = 2 * heartbeatS * 1000;
  for (const tr of clientsBody.rows) {
    const seen = Date.parse(tr.dataset.lastSeen);
    const quiet = Number.isFinite(seen) && serverNow() - seen > limit;
    tr.classList.toggle('quiet', quiet);
    tr.title = quiet ? `No message or ping for over ${2 * heartbeatS}s` : '';
  }
}

// ---- relative times -----------------------------------------------------------------

function tick() {
  tickAll();
  markQuietClients();
}

// ---- recent topics ------------------------------------------------------------------

const topicsBody = document.querySelector('#topics tbody');

function renderTopics(data) {
  const rows = Array.isArray(data?.topics) ? data.topics : [];
  syncRows(topicsBody, rows, (t) => t.topic, createTopicRow, updateTopicRow);
  $('topics-empty').hidden = rows.length > 0;
  $('topics-count').textContent = rows.length ? `${rows.length}${data.limit ? ` of at most ${data.limit}` : ''}` : '';
}

function createTopicRow(t) {
  const pick = el('button', { type: 'button', className: 'link', title: 'Watch this topic' });
  const tr = el(
    'tr',
    {},
    el('td', { className: 'topic' }, pick),
    el('td', { className: 'count num' }),
    el('td', { className: 'last' }),
    el('td', { className: 'sender' }),
    el('td', { className: 'payload' }),
  );
  tr.addEventListener('click', () => watch(t.topic));
  return tr;
}

function updateTopicRow(tr, t) {
  tr.querySelector('button.link').textContent = visible(t.topic);
  tr.querySelector('td.count').textContent = count(t.messages);
  setRelative(tr.querySelector('td.last'), t.last_at, 'ago');
  tr.querySelector('td.sender').textContent = visible(t.last_sender ?? '');
  const payload = tr.querySelector('td.payload');
  payload.textContent = compact(t.last_payload, t.truncated);
  payload.title = payload.textContent;
}

function refreshTopics() {
  if (document.hidden) return;
  api('/api/topics').then(renderTopics, report('topics'));
}

// ---- live messages under a topic filter ---------------------------------------------

const filterInput = $('filter');
const filterState = $('filter-state');
const messagesBody = document.querySelector('#messages tbody');
let watcher = null;

/** Watch `pattern` (or nothing when empty): one EventSource per filter. */
function watch(pattern) {
  const topic = pattern.trim();
  filterInput.value = topic;
  if (watcher) watcher.close();
  watcher = null;
  $('filter-stop').disabled = topic === '';
  if (topic === '') {
    setFilterState('Not watching: enter a topic pattern.', false);
    return;
  }
  messagesBody.replaceChildren();
  let received = 0;
  let skipped = 0;
  const url = `/api/messages?topic=${encodeURIComponent(topic)}`;
  const es = new EventSource(url);
  watcher = es;
  const status = () => `Watching ${topic}: ${count(received)} message${received === 1 ? '' : 's'}${skipped ? `, ${count(skipped)} skipped (over 50/s)` : ''}`;
  es.addEventListener('open', () => setFilterState(status(), false));
  es.addEventListener('message', (ev) => {
    received += 1;
    addMessage(JSON.parse(ev.data));
    setFilterState(status(), false);
  });
  es.addEventListener('skipped', (ev) => {
    skipped += JSON.parse(ev.data).count ?? 0;
    setFilterState(status(), false);
  });
  es.addEventListener('error', () => {
    if (watcher !== es) return;
    if (es.readyState !== EventSource.CLOSED) {
      setFilterState(`Watching ${topic}: connection lost, retrying…`, true);
      return;
    }
    // A refused filter closes the stream; a plain request says why (e.g. invalid_pattern).
    es.close();
    watcher = null;
    $('filter-stop').disabled = true;
    whyRefused(url).then(
      (why) => setFilterState(`Cannot watch ${topic}: ${why}`, true),
      (err) => setFilterState(`Cannot watch ${topic}: ${err.message}`, true),
    );
  });
}

/** The error a stream URL answers with, or a note that it now accepts (the stream is dropped). */
async function whyRefused(url) {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal, credentials: 'same-origin' });
  if (res.ok) {
    abort.abort();
    return 'the stream closed; press Watch to try again';
  }
  if (res.status === 401) location.assign('/login');
  const body = await res.json().catch(() => null);
  return body?.error?.message ?? `${res.status} ${res.statusText}`;
}

function setFilterState(text, isError) {
  filterState.textContent = text;
  filterState.classList.toggle('error', isError);
}

function addMessage(m) {
  const payload = compact(m.payload, m.truncated);
  const tr = el(
    'tr',
    { className: 'new' },
    el('td', { className: 'time', title: stamp(m.timestamp) }, clock(m.timestamp)),
    el('td', { className: 'topic', title: visible(m.topic) }, visible(m.topic)),
    el('td', { className: 'sender' }, visible(m.sender ?? '')),
    el('td', { className: 'payload', title: payload }, payload),
  );
  messagesBody.prepend(tr);
  while (messagesBody.rows.length > MAX_MESSAGES) messagesBody.lastElementChild.remove();
}

$('filter-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  watch(filterInput.value);
});
$('filter-stop').addEventListener('click', () => watch(''));

// ---- the live stream ----------------------------------------------------------------

const scripts = new ScriptsView({ api });
const banner = $('banner');
let retries = 0;

/**
 * On load and after each reconnect: the rate history and the topics, which the stream does
 * not carry. Clients and scripts need no fetch: the stream sends both as it opens (and a
 * scripts fetch would cost the bridges a query).
 */
function refreshAll() {
  api('/api/broker').then(renderBroker, report('broker'));
  refreshTopics();
}

function openLive() {
  const es = new EventSource('/api/live');
  const on = (name, render) =>
    es.addEventListener(name, (ev) => {
      try {
        render(JSON.parse(ev.data));
      } catch (err) {
        report(`${name} event`)(err);
      }
    });
  es.addEventListener('open', () => {
    retries = 0;
    banner.hidden = true;
    refreshAll();
  });
  es.addEventListener('error', () => {
    banner.hidden = false;
    if (es.readyState !== EventSource.CLOSED) return;
    // The browser gave up (the server answered with an error): ask why, then retry.
    es.close();
    const wait = RETRY_MS[Math.min(retries, RETRY_MS.length - 1)];
    retries += 1;
    api('/api/broker').then(
      () => undefined,
      (err) => report('reconnect')(err),
    );
    setTimeout(openLive, wait);
  });
  on('broker', renderBroker);
  on('clients', renderClients);
  on('scripts', (d) => scripts.render(d));
}

openLive();
setInterval(tick, 1000);
setInterval(refreshTopics, TOPICS_REFRESH_MS);
