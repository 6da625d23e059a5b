import { describe, expect, it } from 'vitest';
import { ScriptSupervisor } from '../../bridge/supervisor/script-supervisor.js';
import { entryText, eventText, exitText, OUTPUT_ENTRY_BYTES, OUTPUT_RING_BYTES, OUTPUT_RING_LINES, OutputRing } from '../../bridge/supervisor/output-ring.js';
import { DEFAULT_RESTART } from '../../bridge/supervisor/restart-policy.js';
import { Logger } from '../../src/log/logger.js';

const T = '2026-01-01T00:00:00.000+00:00';

describe('OutputRing', () => {
  it('keeps the newest lines up to its line limit, numbering them from 1', () => {
    const ring = new OutputRing({ lines: 3 });
    for (let i = 1; i <= 5; i++) expect(ring.push('stdout', `line ${i}`, T)).toBe(i);
    const tail = ring.tail(10);
    expect(tail.lines.map((e) => [e.seq, e.text])).toEqual([
      [3, 'line 3'],
      [4, 'line 4'],
      [5, 'line 5'],
    ]);
    expect(tail.next_seq).toBe(6);
    expect(ring.tail(2).lines.map((e) => e.seq)).toEqual([4, 5]);
  });

  it('keeps at most its byte limit of text, dropping the oldest first', () => {
    const ring = new OutputRing({ lines: 100, bytes: 10 });
    ring.push('stdout', 'aaaa', T);
    ring.push('stderr', 'bbbb', T);
    expect(ring.byteSize).toBe(8);
    ring.push('stdout', 'cccc', T); // 12 bytes: the oldest goes
    expect(ring.tail(100).lines.map((e) => e.text)).toEqual(['bbbb', 'cccc']);
    expect(ring.byteSize).toBe(8);
    // Counted in UTF-8: é is two bytes.
    ring.push('stdout', 'éé', T);
    expect(ring.tail(100).lines.map((e) => e.text)).toEqual(['cccc', 'éé']);
    ring.push('stdout', 'dddd', T);
    ring.push('stdout', 'ffff', T); // the two-byte characters leave
    expect(ring.tail(100).lines.map((e) => e.text)).toEqual(['dddd', 'ffff']);
    expect(ring.byteSize).toBe(8);
  });

  it('keeps a line longer than the whole budget, cut to it without splitting a character', () => {
    const ring = new OutputRing({ bytes: 5 });
    ring.push('stdout', 'short', T);
    ring.push('stdout', 'ab€cd', T); // € is 3 bytes: "ab€" is 5
    expect(ring.tail(10).lines.map((e) => e.text)).toEqual(['ab€']);
    ring.push('stdout', 'abcd€', T); // the cut falls inside €
    expect(ring.tail(10).lines.map((e) => e.text)).toEqual(['abcd']);
  });

  it('keeps a line of a megabyte cut to OUTPUT_ENTRY_BYTES with a marker, so it evicts no more than that', () => {
    const ring = new OutputRing();
    ring.push('event', 'started (pid 42)', T);
    for (let i = 0; i < 10; i++) ring.push('stdout', `line ${i}`, T);
    ring.push('stdout', 'L'.repeat(1024 * 1024), T);
    ring.push('stdout', 'after', T);
    const lines = ring.tail(100).lines;
    expect(lines.map((e) => e.text.slice(0, 16))).toEqual(['started (pid 42)', ...Array.from({ length: 10 }, (_, i) => `line ${i}`), 'L'.repeat(16), 'after']);
    expect(lines[11]!.text).toBe(`${'L'.repeat(OUTPUT_ENTRY_BYTES)} [... ${1024 * 1024 - OUTPUT_ENTRY_BYTES} bytes left out]`);
    expect(entryText('short')).toBe('short');
    expect(entryText('L'.repeat(1024 * 1024))).toBe(lines[11]!.text);
  });

  it('stops a tail before its JSON passes the size given', () => {
    const ring = new OutputRing();
    for (let i = 0; i < 10; i++) ring.push('stdout', 'x'.repeat(100), T);
    const tail = ring.tail(10, 500);
    expect(tail.lines.length).toBeGreaterThan(0);
    expect(tail.lines.length).toBeLessThan(10);
    expect(Buffer.byteLength(JSON.stringify(tail.lines))).toBeLessThanOrEqual(500);
    expect(tail.lines.at(-1)!.seq).toBe(10); // the newest are the ones kept
  });

  it('defaults to 1000 lines and 256 KiB, and stays bounded over many pushes', () => {
    expect([OUTPUT_RING_LINES, OUTPUT_RING_BYTES]).toEqual([1000, 256 * 1024]);
    const ring = new OutputRing();
    for (let i = 0; i < 5000; i++) ring.push('stdout', `line ${i}`, T);
    expect(ring.size).toBe(1000);
    expect(ring.tail(5000).lines[0]!.text).toBe('line 4000');
  });
});

describe('lifecycle texts', () => {
  it('say what happened, with the exit code or the signal', () => {
    expect(eventText('started', { pid: 42 })).toBe('started (pid 42)');
    expect(eventText('stopped', { reason: 'crash', exit_code: 3, signal: null })).toBe('crashed (exit code 3)');
    expect(eventText('stopped', { reason: 'stopped', exit_code: null, signal: 'SIGKILL' })).toBe('stopped on request (signal SIGKILL)');
    expect(eventText('stopped', { reason: 'load_failure', exit_code: null, signal: null })).toBe('failed to load');
    expect(eventText('restart_limit', { why: '5 restarts within 60 s' })).toBe('not restarting: 5 restarts within 60 s');
    expect(eventText('ready', {})).toBeNull();
    expect(exitText({ reason: 'crash', exit_code: 1, signal: null })).toBe('crash (1)');
    expect(exitText({ reason: 'crash', exit_code: null, signal: 'SIGTERM' })).toBe('crash (SIGTERM)');
  });
});

describe('a supervisor and its ring', () => {
  it('numbers output, stderr and lifecycle markers in one sequence that goes on across restarts', async () => {
    const published: { topic: string; payload: Record<string, unknown> }[] = [];
    let run = 0;
    const supervisor = new ScriptSupervisor(
      { key: 'k', path: 'k.ahk', args: [], restart: { ...DEFAULT_RESTART, mode: 'never' }, encoding: 'utf-8', stopGrace: 1 },
      {
        publish: (topic, payload) => published.push({ topic, payload: payload as Record<string, unknown> }),
        log: new Logger({ level: 'silent' }),
        // A stand-in script: node printing one line on each stream, then a clean exit.
        command: () => {
          run++;
          return Promise.resolve({ file: process.execPath, args: ['-e', `console.log('out ${run}'); console.error('err ${run}')`] });
        },
      },
    );
    for (let i = 0; i < 2; i++) {
      const settled = new Promise((resolve) => supervisor.once('settled', resolve));
      await supervisor.start();
      await settled;
    }
    const ring = supervisor.output.tail(100).lines;
    expect(ring.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // The two streams are separate pipes: their order within a run is not fixed.
    const runOf = (n: number): string[] => ring.slice((n - 1) * 4, n * 4).map((e) => `${e.stream} ${e.text.replace(/\(pid \d+\)/, '(pid)')}`);
    for (const n of [1, 2]) {
      const lines = runOf(n);
      expect(lines[0]).toBe('event started (pid)');
      expect(lines.slice(1, 3).sort()).toEqual([`stderr err ${n}`, `stdout out ${n}`]);
      expect(lines[3]).toBe('event ended by itself (exit code 0)');
    }
    // Markers say which event they mark, for code that looks for one (not by their words).
    expect(ring.map((e) => e.event ?? null)).toEqual(['started', null, null, 'stopped', 'started', null, null, 'stopped']);
    // Subscribers see the same numbers.
    const seqOf = (suffix: string): unknown[] => published.filter((p) => p.topic === `scripts.k.${suffix}`).map((p) => p.payload.seq);
    expect(seqOf('started')).toEqual([ring[0]!.seq, ring[4]!.seq]);
    expect(seqOf('stopped')).toEqual([ring[3]!.seq, ring[7]!.seq]);
    expect([...seqOf('output'), ...seqOf('stderr')].sort()).toEqual([2, 3, 6, 7]);
    // last_exit is not the published copy: it carries no seq.
    expect(supervisor.status().last_exit).not.toHaveProperty('seq');
  });
});
