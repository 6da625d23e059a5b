/**
 * Reads a persistence directory WITHOUT the broker's code, so a crash test can say what
 * a restarted broker must hold from the bytes alone (an oracle that shares no code with
 * what it checks). The format, from src/broker/persistence:
 *
 *   files    journal-NNNNNNNNNN.log (segments, replayed in order) and
 *            snapshot-NNNNNNNNNN.snap (the state as of the start of segment N)
 *   record   [u32 LE body length][u32 LE CRC-32 of the 4 length bytes and the body][JSON body]
 *
 * Decoding a file stops at its first record that is torn or fails its CRC: nothing after
 * it can be framed with confidence, and everything before it is whole.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

const HEADER = 8;
const SEGMENT = /^journal-(\d{10})\.log$/;
const SNAPSHOT = /^snapshot-(\d{10})\.snap$/;

/** One whole record of a file: its JSON (null when intact but not JSON) and its place. */
export interface FileRecord {
  file: string;
  offset: number;
  /** Offset after the record. */
  end: number;
  value: Record<string, unknown> | null;
}

/** The whole records of one file, and where the whole ones end. */
export interface DecodedFile {
  records: FileRecord[];
  /** Offset after the last whole record. */
  validBytes: number;
  size: number;
}

export function decodeFile(file: string, data: Buffer): DecodedFile {
  const records: FileRecord[] = [];
  let pos = 0;
  while (data.length - pos >= HEADER) {
    const length = data.readUInt32LE(pos);
    if (length === 0 || data.length - pos - HEADER < length) break;
    const crc = crc32(data.subarray(pos + HEADER, pos + HEADER + length), crc32(data.subarray(pos, pos + 4)));
    if (crc !== data.readUInt32LE(pos + 4)) break;
    let value: Record<string, unknown> | null = null;
    try {
      value = JSON.parse(data.toString('utf8', pos + HEADER, pos + HEADER + length)) as Record<string, unknown>;
    } catch {
      // Intact frame, not JSON: the broker skips it too.
    }
    records.push({ file, offset: pos, end: pos + HEADER + length, value });
    pos += HEADER + length;
  }
  return { records, validBytes: pos, size: data.length };
}

/** Journal segments and snapshots of `dir`, each list in ascending sequence order. */
export function journalFiles(dir: string): { segments: { name: string; seq: number }[]; snapshots: { name: string; seq: number }[] } {
  const segments: { name: string; seq: number }[] = [];
  const snapshots: { name: string; seq: number }[] = [];
  for (const name of readdirSync(dir)) {
    const seg = SEGMENT.exec(name);
    const snap = SNAPSHOT.exec(name);
    if (seg) segments.push({ name, seq: Number(seg[1]) });
    else if (snap) snapshots.push({ name, seq: Number(snap[1]) });
  }
  segments.sort((a, b) => a.seq - b.seq);
  snapshots.sort((a, b) => a.seq - b.seq);
  return { segments, snapshots };
}

/**
 * Every whole record a restart replays, in replay order: the newest complete snapshot
 * (a `snapshot` header first, a `snapshot_end` last), then each segment from its base on.
 */
export function replayRecords(dir: string): FileRecord[] {
  const { segments, snapshots } = journalFiles(dir);
  const out: FileRecord[] = [];
  let base = 0;
  for (const snap of [...snapshots].reverse()) {
    const d = decodeFile(snap.name, readFileSync(join(dir, snap.name)));
    const first = d.records[0]?.value;
    const last = d.records.at(-1)?.value;
    if (d.validBytes !== d.size || first?.type !== 'snapshot' || last?.type !== 'snapshot_end') continue;
    out.push(...d.records.slice(1, -1));
    base = snap.seq;
    break;
  }
  for (const seg of segments) {
    if (seg.seq >= base) out.push(...decodeFile(seg.name, readFileSync(join(dir, seg.name))).records);
  }
  return out;
}

/**
 * The QoS 1 messages pending for `clientId` after replaying `records` (message id ->
 * the stored message): enqueued for it, not acked, dropped or ended with its session.
 */
export function pendingFor(records: readonly FileRecord[], clientId: string): Map<string, Record<string, unknown>> {
  const pending = new Map<string, Record<string, unknown>>();
  for (const { value: r } of records) {
    if (r === null) continue;
    if (r.type === 'enqueue' && Array.isArray(r.clientIds) && r.clientIds.includes(clientId)) {
      const m = r.message as Record<string, unknown>;
      pending.set(m.id as string, m);
    } else if ((r.type === 'ack' || r.type === 'drop') && r.clientId === clientId) {
      pending.delete(r.messageId as string);
    } else if (r.type === 'session_end' && r.clientId === clientId) {
      pending.clear();
    }
  }
  return pending;
}
