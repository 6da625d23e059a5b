import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { onShutdownSignal, shutdownSignals } from '../../bridge/signals.js';

describe('shutdown signals', () => {
  const removers: (() => void)[] = [];
  afterEach(() => removers.splice(0).forEach((r) => r()));

  it('includes Ctrl+Break (SIGBREAK) and console close (SIGHUP) on Windows', () => {
    expect(shutdownSignals('win32')).toEqual(['SIGINT', 'SIGTERM', 'SIGBREAK', 'SIGHUP']);
  });

  it('uses SIGINT, SIGTERM and SIGHUP on POSIX', () => {
    expect(shutdownSignals('linux')).toEqual(['SIGINT', 'SIGTERM', 'SIGHUP']);
    expect(shutdownSignals('darwin')).not.toContain('SIGBREAK');
  });

  it('registers a listener for each Windows signal and removes them again', () => {
    const before = process.listenerCount('SIGBREAK');
    const remove = onShutdownSignal(() => undefined, undefined, { platform: 'win32', exit: () => undefined });
    expect(process.listenerCount('SIGBREAK')).toBe(before + 1);
    remove();
    expect(process.listenerCount('SIGBREAK')).toBe(before);
  });

  it('stops once on the first signal and exits 130 on the second', async () => {
    const stops: string[] = [];
    const exits: number[] = [];
    removers.push(onShutdownSignal((sig) => void stops.push(sig), undefined, { platform: 'win32', exit: (c) => void exits.push(c) }));
    process.emit('SIGBREAK', 'SIGBREAK');
    expect(stops).toEqual(['SIGBREAK']);
    expect(exits).toEqual([]);
    process.emit('SIGINT', 'SIGINT');
    expect(stops).toEqual(['SIGBREAK']);
    expect(exits).toEqual([130]);
  });

  it('now() stops like a first signal, and does nothing while a stop is under way (bridge down after Ctrl+C)', () => {
    const stops: string[] = [];
    const exits: number[] = [];
    const handle = onShutdownSignal((cause) => void stops.push(cause), undefined, { platform: 'linux', exit: (c) => void exits.push(c) });
    removers.push(handle);
    handle.now('request');
    handle.now('request');
    expect(stops).toEqual(['request']);
    expect(exits).toEqual([]);
    // A signal after a request is a second signal: the user insists.
    process.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([130]);

    const after: string[] = [];
    const signalFirst = onShutdownSignal((cause) => void after.push(cause), undefined, { platform: 'linux', exit: (c) => void exits.push(c) });
    removers.push(signalFirst);
    handle();
    process.emit('SIGTERM', 'SIGTERM');
    signalFirst.now('request');
    expect(after).toEqual(['SIGTERM']);
    expect(exits).toEqual([130]);
  });

  it('with a stdin stream, its end stops once, like a signal, and a later signal exits', async () => {
    const stdin = new PassThrough();
    const stops: string[] = [];
    const exits: number[] = [];
    removers.push(onShutdownSignal((cause) => void stops.push(cause), undefined, { platform: 'linux', exit: (c) => void exits.push(c), stdin }));
    stdin.write('ignored');
    await new Promise((resolve) => setImmediate(resolve));
    expect(stops).toEqual([]);
    stdin.end();
    await new Promise((resolve) => stdin.once('end', resolve));
    expect(stops).toEqual(['stdin_closed']);
    process.emit('SIGTERM', 'SIGTERM');
    expect(exits).toEqual([130]);
  });
});
