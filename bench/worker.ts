/**
 * Entry of every client process the orchestrator forks: `node dist/bench/worker.js <init-json>`.
 * Runs one role (subscriber, publisher, QoS 1 publisher, latency, command-rtt, queue-latency, queue-sub) and
 * takes commands over IPC. It ends by itself when told to exit, when the orchestrator goes
 * away, or at the hard time limit, so no bench process outlives a run.
 */
import type { Command, WorkerInit } from './ipc.js';
import { startCommandRtt } from './roles/command-rtt.js';
import { emit, type Role } from './roles/common.js';
import { startLatency } from './roles/latency.js';
import { startPublisher } from './roles/publisher.js';
import { startQos1Publisher } from './roles/qos1-publisher.js';
import { startQueueBacklog } from './roles/queue-backlog.js';
import { startQueueLatency } from './roles/queue-latency.js';
import { startSubscriber } from './roles/subscriber.js';

function fail(err: unknown): void {
  emit({ ev: 'error', message: err instanceof Error ? err.message : String(err) });
  // Give the IPC message a moment to leave before exiting.
  setTimeout(() => process.exit(1), 50);
}

function startRole(init: WorkerInit): Promise<Role> {
  switch (init.role) {
    case 'sub':
      return startSubscriber(init);
    case 'pub':
      return startPublisher(init);
    case 'qos1-pub':
      return startQos1Publisher(init);
    case 'latency':
      return startLatency(init);
    case 'command-rtt':
      return startCommandRtt(init);
    case 'queue-latency':
      return startQueueLatency(init);
    case 'queue-sub':
      return startQueueBacklog(init);
  }
}

async function main(): Promise<void> {
  const init = JSON.parse(process.argv[2] ?? '') as WorkerInit;
  setTimeout(() => fail(new Error(`hard time limit of ${init.hardLimitMs} ms reached`)), init.hardLimitMs).unref();
  // The orchestrator died or closed the channel: nobody will read our results.
  process.on('disconnect', () => process.exit(0));
  const role = await startRole(init);
  process.on('message', (raw: unknown) => {
    const cmd = raw as Command;
    if (cmd.cmd === 'exit') {
      role.close();
      process.exit(0);
    }
    role.onCommand(cmd);
  });
  emit({ ev: 'ready' });
}

process.on('uncaughtException', fail);
main().catch(fail);
