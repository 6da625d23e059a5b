#!/usr/bin/env node
/**
 * A process that owns a persistence directory, for the tests that need a second process
 * or a SIGKILL. Runs the built journal (dist/, rebuilt by vitest's global setup).
 *
 *   journal-child.mjs hold DIR            open, print "ready", hold the lock until stdin ends
 *   journal-child.mjs append DIR POLICY   open, print "ready N", then append without end:
 *       enqueue m<n> for session "c" (n counting on from what the journal holds), every 7th
 *       n also retain r/<n % 5> = n, a compaction every 100 appends racing the appends;
 *       prints "ok enqueue <n>" / "ok retain <n>" after each append resolved
 *
 * Output is written synchronously, so a line the test has read was printed after its
 * append resolved: whatever the test saw must survive the kill.
 */
import { writeSync } from 'node:fs';
import { Journal } from '../../dist/src/broker/persistence/index.js';
import { Logger } from '../../dist/src/log/logger.js';

const [mode, dir, policy] = process.argv.slice(2);
const log = new Logger({ level: 'warning', component: 'journal-child' });
const say = (line) => writeSync(1, line + '\n');

const { journal, state } = await Journal.open({ dir, fsync: policy ?? 'always', log, autoCompact: false });

if (mode === 'hold') {
  say('ready');
  process.stdin.resume();
  process.stdin.on('end', () => {
    journal.close().then(() => process.exit(0), (err) => {
      console.error(err);
      process.exit(1);
    });
  });
} else if (mode === 'append') {
  const pending = state.sessions.get('c')?.pending ?? [];
  let next = pending.length === 0 ? 0 : Math.max(...pending.map((m) => Number(m.id.slice(1)))) + 1;
  say(`ready ${next}`);
  await journal.append({ type: 'session', clientId: 'c', patterns: ['#'], expiresAt: null });
  const message = (n) => ({
    id: `m${n}`, topic: `t/${n}`, payload: { n, pad: 'x'.repeat(n % 50) }, sender: 'child', timestamp: new Date().toISOString(), qos: 1, expiresAt: 0,
  });
  const one = () => {
    const n = next++;
    const msg = message(n);
    const jobs = [journal.append({ type: 'enqueue', message: msg, clientIds: ['c'] }).then(() => say(`ok enqueue ${n}`))];
    if (n % 7 === 0) jobs.push(journal.append({ type: 'retain', message: { ...msg, topic: `r/${n % 5}` } }).then(() => say(`ok retain ${n}`)));
    if (n % 100 === 99) journal.compact().catch(fail);
    return Promise.all(jobs);
  };
  // Four appends in flight at all times, so the kill also finds appends queued and waiting.
  const lane = () => one().then(lane, fail);
  for (let i = 0; i < 4; i++) lane();
} else {
  fail(new Error(`unknown mode ${mode}`));
}

function fail(err) {
  console.error(err);
  process.exit(1);
}
