// The message-rate chart: the broker's five-minute history, then one point per `broker`
// event, drawn as SVG polylines in a 300x80 box the stylesheet stretches to the card.
import { rate } from './format.js';

const WIDTH = 300;
const HEIGHT = 80;
const WINDOW_MS = 5 * 60 * 1000;

export class RateChart {
  /** @param {SVGSVGElement} svg @param {HTMLElement} peakLabel */
  constructor(svg, peakLabel) {
    this.svg = svg;
    this.peakLabel = peakLabel;
    this.messages = svg.querySelector('polyline.messages');
    this.deliveries = svg.querySelector('polyline.deliveries');
    this.area = svg.querySelector('polygon.area');
    this.midLine = svg.querySelector('line.grid-line');
    /** Points in the server's clock (ms), oldest first: {t, m, d}. */
    this.points = [];
  }

  /** Replace everything with `/api/broker`'s `history` (on load and after a reconnect). */
  setHistory(history) {
    if (!history || !Array.isArray(history.messages_per_s)) return;
    const step = (history.interval_s || 1) * 1000;
    const end = Date.parse(history.end);
    const n = history.messages_per_s.length;
    this.points = history.messages_per_s.map((m, i) => ({
      t: end - (n - 1 - i) * step,
      m,
      d: history.deliveries_per_s?.[i] ?? 0,
    }));
    this.draw();
  }

  /** Add the last complete second from a `broker` event; `t` is the server's time of it. */
  add(t, rates) {
    const last = this.points[this.points.length - 1];
    // The history's last second and the first event's may be the same second.
    if (last && t - last.t < 500) return;
    this.points.push({ t, m: rates.messages_per_s ?? 0, d: rates.deliveries_per_s ?? 0 });
    const from = t - WINDOW_MS;
    while (this.points.length > 0 && this.points[0].t < from) this.points.shift();
    this.draw();
  }

  draw() {
    const pts = this.points;
    if (pts.length === 0) return;
    const end = pts[pts.length - 1].t;
    const start = end - WINDOW_MS;
    let peak = 0;
    for (const p of pts) peak = Math.max(peak, p.m, p.d);
    const top = niceCeiling(peak);
    const x = (t) => (((t - start) / WINDOW_MS) * WIDTH).toFixed(1);
    const y = (v) => (HEIGHT - (v / top) * (HEIGHT - 4)).toFixed(1);
    const line = (key) => pts.map((p) => `${x(p.t)},${y(p[key])}`).join(' ');
    const msgLine = line('m');
    this.messages.setAttribute('points', msgLine);
    this.deliveries.setAttribute('points', line('d'));
    this.area.setAttribute('points', `${x(pts[0].t)},${HEIGHT} ${msgLine} ${x(end)},${HEIGHT}`);
    const mid = y(top / 2);
    this.midLine.setAttribute('y1', mid);
    this.midLine.setAttribute('y2', mid);
    const now = pts[pts.length - 1];
    this.peakLabel.textContent = `now ${rate(now.m)} msg/s · peak ${rate(peak)} · scale ${rate(top)}`;
    this.svg.setAttribute('aria-label', `Messages per second over the last 5 minutes: now ${rate(now.m)}, peak ${rate(peak)}`);
  }
}

/** The chart's top: 1, 2 or 5 times a power of ten, at least 1 msg/s. */
function niceCeiling(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 5, 10]) if (v <= f * p) return f * p;
  return 10 * p;
}
