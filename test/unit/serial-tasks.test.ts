import { describe, expect, it } from 'vitest';
import { SerialTasks } from '../../bridge/supervisor/serial-tasks.js';

/** A promise and the functions that settle it, for a task that ends when the test says. */
function gate(): { done: Promise<void>; open: () => void; fail: (err: Error) => void } {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { done, open, fail };
}

describe('SerialTasks', () => {
  it('starts a task at once when none is running, as a stop or start that reads the state right after expects', async () => {
    const tasks = new SerialTasks();
    const log: string[] = [];
    const ran = tasks.run(async () => {
      log.push('ran');
    });
    expect(log).toEqual(['ran']);
    await ran;
  });

  it('runs tasks one at a time, in the order they were added, each settling with its own value', async () => {
    const tasks = new SerialTasks();
    const log: string[] = [];
    const first = gate();
    const a = tasks.run(async () => {
      log.push('a start');
      await first.done;
      log.push('a end');
      return 'A';
    });
    const b = tasks.run(async () => {
      log.push('b');
      return 'B';
    });
    const c = tasks.run(async () => {
      log.push('c');
      return 'C';
    });
    // b and c wait for a, however long it takes.
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(['a start']);
    first.open();
    expect(await Promise.all([a, b, c])).toEqual(['A', 'B', 'C']);
    expect(log).toEqual(['a start', 'a end', 'b', 'c']);
  });

  it('a failing task fails its own caller only: the next one still runs', async () => {
    const tasks = new SerialTasks();
    const first = gate();
    const failing = tasks.run(async () => {
      await first.done;
    });
    const next = tasks.run(async () => 'next ran');
    first.fail(new Error('spawn failed'));
    await expect(failing).rejects.toThrow('spawn failed');
    expect(await next).toBe('next ran');
    // A task that throws before its first await fails its caller too, queued or not.
    const thrower = (): Promise<void> => {
      throw new Error('thrown synchronously');
    };
    const gated = gate();
    const running = tasks.run(() => gated.done);
    const queuedThrow = tasks.run(thrower);
    gated.open();
    await running;
    await expect(queuedThrow).rejects.toThrow('thrown synchronously');
    await expect(new SerialTasks().run(thrower)).rejects.toThrow('thrown synchronously');
  });

  it('is idle again by the time a caller awaiting the last task resumes: the next task starts at once, as with nothing before it', async () => {
    const tasks = new SerialTasks();
    await tasks.run(async () => 'first');
    const log: string[] = [];
    const later = tasks.run(async () => {
      log.push('later');
    });
    expect(log).toEqual(['later']);
    await later;
    // Also after a failure.
    await expect(tasks.run(() => Promise.reject(new Error('failed')))).rejects.toThrow('failed');
    const afterFailure = tasks.run(async () => {
      log.push('after failure');
    });
    expect(log).toEqual(['later', 'after failure']);
    await afterFailure;
  });
});
