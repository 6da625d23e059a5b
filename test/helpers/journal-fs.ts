/**
 * The real file system behind the persistence layer's `JournalFs` seam, counting every
 * operation and failing or pausing the ones a test names: fsyncs are counted where they
 * happen, ENOSPC comes from "the disk", and a compaction can be held half-way while
 * appends go on. Only the file system is faked; the journal's own parts are all real.
 */
import { basename } from 'node:path';
import { nodeJournalFs, type JournalFileHandle, type JournalFs } from '../../src/broker/persistence/index.js';

export type FsOp = 'open' | 'write' | 'sync' | 'truncate' | 'close' | 'readFile' | 'readdir' | 'rename' | 'unlink' | 'mkdir' | 'syncDir';

interface Fault {
  op: FsOp;
  code: string;
  file: RegExp | undefined;
  remaining: number;
  /** For writes: write this share of the bytes first, as a disk filling up mid-write does. */
  partial: number;
}

/** A paused operation: `reached` resolves when it is waiting; `release()` lets it go on. */
export interface Gate {
  reached: Promise<void>;
  release(): void;
}

interface GateEntry {
  op: FsOp;
  file: RegExp | undefined;
  arrive(): void;
  opened: Promise<void>;
  used: boolean;
}

export class TestJournalFs implements JournalFs {
  /** Calls per operation (also the failed ones). */
  readonly calls: Record<FsOp, number> = {
    open: 0, write: 0, sync: 0, truncate: 0, close: 0, readFile: 0, readdir: 0, rename: 0, unlink: 0, mkdir: 0, syncDir: 0,
  };
  /** Every call, in order: the operation and the file's name. */
  readonly log: { op: FsOp; file: string }[] = [];
  /** Bytes actually written. */
  bytesWritten = 0;
  private faults: Fault[] = [];
  private gates: GateEntry[] = [];

  constructor(private readonly real: JournalFs = nodeJournalFs) {}

  /**
   * Make `op` fail with `code` (on files whose name matches `file`), `times` times or
   * until {@link heal}. `partial` (writes only) writes that share of the bytes first.
   */
  fail(op: FsOp, code: string, options: { times?: number; file?: RegExp; partial?: number } = {}): void {
    this.faults.push({ op, code, file: options.file, remaining: options.times ?? Infinity, partial: options.partial ?? 0 });
  }

  /** Remove every fault: the disk has space again. */
  heal(): void {
    this.faults = [];
  }

  /** Pause the next `op` on a file matching `file` until the gate is released. */
  hold(op: FsOp, file?: RegExp): Gate {
    let arrive!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((r) => (arrive = r));
    const opened = new Promise<void>((r) => (release = r));
    this.gates.push({ op, file, arrive, opened, used: false });
    return { reached, release };
  }

  /** Calls of `op` on files whose name matches `file`. */
  count(op: FsOp, file: RegExp): number {
    return this.log.filter((c) => c.op === op && file.test(c.file)).length;
  }

  private async enter(op: FsOp, path: string): Promise<Fault | null> {
    this.calls[op]++;
    const name = basename(path);
    this.log.push({ op, file: name });
    const gate = this.gates.find((g) => !g.used && g.op === op && (!g.file || g.file.test(name)));
    if (gate) {
      gate.used = true;
      gate.arrive();
      await gate.opened;
    }
    const fault = this.faults.find((f) => f.op === op && f.remaining > 0 && (!f.file || f.file.test(name)));
    if (!fault) return null;
    fault.remaining--;
    return fault;
  }

  private static error(fault: Fault, op: FsOp, path: string): Error {
    return Object.assign(new Error(`${fault.code}: injected ${op} failure, ${path}`), { code: fault.code });
  }

  private async op<T>(op: FsOp, path: string, run: () => Promise<T>): Promise<T> {
    const fault = await this.enter(op, path);
    if (fault) throw TestJournalFs.error(fault, op, path);
    return run();
  }

  async open(path: string, flags: 'wx' | 'r+'): Promise<JournalFileHandle> {
    const handle = await this.op('open', path, () => this.real.open(path, flags));
    return {
      write: async (buffer, offset, length, position) => {
        const fault = await this.enter('write', path);
        if (fault) {
          const part = Math.floor(length * fault.partial);
          if (part > 0) this.bytesWritten += (await handle.write(buffer, offset, part, position)).bytesWritten;
          throw TestJournalFs.error(fault, 'write', path);
        }
        const res = await handle.write(buffer, offset, length, position);
        this.bytesWritten += res.bytesWritten;
        return res;
      },
      sync: () => this.op('sync', path, () => handle.sync()),
      truncate: (len) => this.op('truncate', path, () => handle.truncate(len)),
      // A failed close still closes the real handle: the test leaks no descriptor.
      close: async () => {
        const fault = await this.enter('close', path);
        await handle.close();
        if (fault) throw TestJournalFs.error(fault, 'close', path);
      },
    };
  }

  readFile(path: string): Promise<Buffer> {
    return this.op('readFile', path, () => this.real.readFile(path));
  }
  readdir(path: string): Promise<string[]> {
    return this.op('readdir', path, () => this.real.readdir(path));
  }
  rename(from: string, to: string): Promise<void> {
    return this.op('rename', from, () => this.real.rename(from, to));
  }
  unlink(path: string): Promise<void> {
    return this.op('unlink', path, () => this.real.unlink(path));
  }
  mkdir(path: string): Promise<void> {
    return this.op('mkdir', path, () => this.real.mkdir(path));
  }
  syncDir(path: string): Promise<void> {
    return this.op('syncDir', path, () => this.real.syncDir(path));
  }
}
