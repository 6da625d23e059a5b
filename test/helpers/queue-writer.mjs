#!/usr/bin/env node
/**
 * A stand-in for a legacy AutoHotkey script that FileAppends to a queue file: every line
 * is its own open-append-close (fs.appendFileSync, as AHK's FileAppend does it), so
 * several writer processes can share one queue file the way several scripts do.
 *
 *   node queue-writer.mjs --file <queue> --writer <k> [--lines 10000] [--rate 1000] [--eol crlf|lf]
 *
 * Appends `stress.w<k>|{"w":<k>,"n":<i>}` for i = 1..lines, in order. `--rate` (lines per
 * second, 0 = as fast as possible) paces the appends by the clock, so the run takes about
 * lines/rate seconds however slow the timers are. Prints `done <k> <lines>` on stdout at
 * the end and exits 0; any failed append is fatal (exit 1), so a writer never skips a line.
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    writer: { type: 'string' },
    lines: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '1000' },
    eol: { type: 'string', default: 'crlf' },
  },
});

if (!values.file || !values.writer) {
  process.stderr.write('usage: queue-writer.mjs --file <queue> --writer <k> [--lines N] [--rate lines/s] [--eol crlf|lf]\n');
  process.exit(2);
}
const file = values.file;
const k = Number(values.writer);
const lines = Number(values.lines);
const rate = Number(values.rate);
const eol = values.eol === 'lf' ? '\n' : '\r\n';
if (!Number.isInteger(k) || !Number.isInteger(lines) || lines < 0 || !(rate >= 0)) {
  process.stderr.write('queue-writer: --writer and --lines must be integers, --rate a number >= 0\n');
  process.exit(2);
}

const started = Date.now();
for (let n = 1; n <= lines; n++) {
  if (rate > 0) {
    // Clock-driven pacing: wait while we are ahead of `rate` lines per second.
    const due = started + ((n - 1) * 1000) / rate;
    const ahead = due - Date.now();
    if (ahead > 1) await sleep(ahead);
  }
  // One FileAppend: open (O_APPEND), write one line, close.
  appendFileSync(file, `stress.w${k}|${JSON.stringify({ w: k, n })}${eol}`);
}
process.stdout.write(`done ${k} ${lines} ${Date.now() - started}ms\n`);
