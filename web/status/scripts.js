// The scripts table, its start/stop/restart buttons, and the output panel of one script.
import { el, syncRows, clock, outputText, setRelative, stamp } from './format.js';

const OUTPUT_LINES = 200;
const OUTPUT_POLL_MS = 2000;

/**
 * @param {object} deps
 * @param {(path: string, init?: RequestInit) => Promise<any>} deps.api JSON fetch that throws on errors
 */
export class ScriptsView {
  constructor({ api }) {
    this.api = api;
    this.tbody = document.querySelector('#scripts tbody');
    this.empty = document.getElementById('scripts-empty');
    this.countLabel = document.getElementById('scripts-count');
    this.result = document.getElementById('script-result');
    this.card = document.getElementById('output-card');
    this.outputKey = document.getElementById('output-key');
    this.outputList = document.getElementById('output');
    this.outputError = document.getElementById('output-error');
    /** key -> the operation in flight; its row's buttons stay disabled until it answers. */
    this.pending = new Map();
    this.scripts = [];
    this.selected = null;
    this.lastSeq = null;
    this.pollTimer = null;
    document.getElementById('output-close').addEventListener('click', () => this.closeOutput());
    document.getElementById('output-refresh').addEventListener('click', () => this.loadOutput());
  }

  /** A whole `/api/scripts` answer (from a fetch or a `scripts` event). */
  render(data) {
    this.scripts = Array.isArray(data?.scripts) ? data.scripts : [];
    syncRows(this.tbody, this.scripts, (s) => s.key, (s) => this.createRow(s), (tr, s) => this.updateRow(tr, s));
    this.empty.hidden = this.scripts.length > 0;
    const running = this.scripts.filter((s) => s.running).length;
    this.countLabel.textContent = this.scripts.length ? `${running} of ${this.scripts.length} running` : '';
    const silent = Array.isArray(data?.silent_bridges) ? data.silent_bridges : [];
    if (silent.length > 0 && !this.result.textContent) {
      this.result.textContent = `No answer from bridge ${silent.join(', ')}: its scripts are not listed.`;
    }
  }

  createRow(s) {
    const key = s.key;
    const button = (op, label) => {
      const b = el('button', { type: 'button', textContent: label, className: `op-${op}` });
      b.setAttribute('aria-label', `${label} ${key}`);
      b.addEventListener('click', (ev) => {
        ev.stopPropagation();
        if (op === 'output') this.openOutput(key);
        else this.run(key, op);
      });
      return b;
    };
    const tr = el(
      'tr',
      {},
      el('td', { className: 'key' }),
      el('td', { className: 'state' }, el('span', { className: 'badge' })),
      el('td', { className: 'pid num' }),
      el('td', { className: 'uptime' }),
      el('td', { className: 'restarts num' }),
      el('td', { className: 'exit' }),
      el('td', { className: 'bridge' }),
      el('td', { className: 'actions' }, button('start', 'Start'), button('stop', 'Stop'), button('restart', 'Restart'), button('output', 'Output')),
    );
    tr.addEventListener('click', () => this.openOutput(key));
    return tr;
  }

  updateRow(tr, s) {
    const cell = (name) => tr.querySelector(`td.${name}`);
    cell('key').textContent = s.key;
    cell('key').title = s.script ?? '';
    const badge = tr.querySelector('.badge');
    badge.textContent = s.state ?? (s.running ? 'running' : 'stopped');
    badge.className = `badge ${badge.textContent}`;
    cell('pid').textContent = s.pid ?? '–';
    setRelative(cell('uptime'), s.running ? s.started_at : null, 'dur');
    const restarts = cell('restarts');
    restarts.textContent = s.restarts ?? 0;
    restarts.classList.toggle('hot', (s.restarts ?? 0) > 0);
    const exit = cell('exit');
    exit.textContent = describeExit(s.last_exit);
    const exitAt = s.last_exit?.timestamp ?? s.last_exit?.at;
    exit.title = exitAt ? stamp(exitAt) : '';
    exit.classList.toggle('hot', /crash|failure/.test(s.last_exit?.reason ?? ''));
    cell('bridge').textContent = s.bridge ?? '';
    const busy = this.pending.has(s.key);
    const stoppable = s.running || ['starting', 'waiting_restart'].includes(s.state);
    tr.querySelector('.op-start').disabled = busy || s.running;
    tr.querySelector('.op-stop').disabled = busy || !stoppable;
    tr.querySelector('.op-restart').disabled = busy;
    tr.setAttribute('aria-busy', String(busy));
    tr.classList.toggle('selected', this.selected === s.key);
  }

  /** Press a button: POST the operation, keep the row's buttons off until it answers. */
  async run(key, op) {
    if (this.pending.has(key)) return;
    this.pending.set(key, op);
    this.render({ scripts: this.scripts });
    this.showResult(`${op} ${key}…`, false);
    try {
      const res = await this.api(`/api/scripts/${encodeURIComponent(key)}/${op}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
      });
      this.showResult(res?.result ?? `${op} ${key}: done`, false);
      if (res?.status && typeof res.status === 'object') {
        this.scripts = this.scripts.map((s) => (s.key === key ? { ...s, ...res.status } : s));
      }
    } catch (err) {
      this.showResult(`${op} ${key} failed: ${err.message}`, true);
    } finally {
      this.pending.delete(key);
      this.render({ scripts: this.scripts });
      if (this.selected === key) this.loadOutput();
    }
  }

  showResult(text, isError) {
    this.result.textContent = text;
    this.result.classList.toggle('error', isError);
  }

  openOutput(key) {
    if (this.selected !== key) {
      this.selected = key;
      this.lastSeq = null;
      this.outputList.replaceChildren();
    }
    this.outputKey.textContent = key;
    this.card.hidden = false;
    for (const tr of this.tbody.rows) tr.classList.toggle('selected', tr.dataset.key === key);
    this.loadOutput();
    clearInterval(this.pollTimer);
    this.pollTimer = setInterval(() => {
      if (!document.hidden) this.loadOutput();
    }, OUTPUT_POLL_MS);
  }

  closeOutput() {
    clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.selected = null;
    this.card.hidden = true;
    for (const tr of this.tbody.rows) tr.classList.remove('selected');
  }

  async loadOutput() {
    const key = this.selected;
    if (key === null) return;
    try {
      const res = await this.api(`/api/scripts/${encodeURIComponent(key)}/output?lines=${OUTPUT_LINES}`);
      if (this.selected !== key) return;
      this.outputError.hidden = true;
      this.renderOutput(Array.isArray(res?.lines) ? res.lines : []);
    } catch (err) {
      if (this.selected !== key) return;
      this.outputError.textContent = `Could not read the output of ${key}: ${err.message}`;
      this.outputError.hidden = false;
    }
  }

  renderOutput(lines) {
    const last = lines.length ? lines[lines.length - 1].seq : -1;
    if (last === this.lastSeq) return;
    this.lastSeq = last;
    const list = this.outputList;
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    if (lines.length === 0) {
      list.replaceChildren(el('li', { className: 'none', textContent: 'No output yet.' }));
      return;
    }
    list.replaceChildren(
      ...lines.map((l) =>
        el(
          'li',
          { className: l.stream ?? 'stdout' },
          el('span', { className: 'at', textContent: clock(l.timestamp ?? l.at) }),
          l.stream === 'stderr' ? el('span', { className: 'stream', textContent: 'stderr' }) : null,
          outputText(l.text ?? ''),
        ),
      ),
    );
    if (atBottom) list.scrollTop = list.scrollHeight;
  }
}

/** `crash (exit 1)`, `stopped`, `clean_exit`, or `–` before the first exit. */
function describeExit(e) {
  if (!e) return '–';
  const how = e.signal ? `signal ${e.signal}` : e.exit_code !== null && e.exit_code !== undefined ? `exit ${e.exit_code}` : '';
  return how ? `${e.reason} (${how})` : String(e.reason ?? '?');
}
