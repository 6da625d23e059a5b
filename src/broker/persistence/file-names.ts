/**
 * The files of a persistence directory and how they are named. Sequence numbers are
 * zero-padded to ten digits, written in full past that; listings are sorted by number.
 *
 *   journal-0000000007.log    a segment: records appended in order
 *   snapshot-0000000007.snap  the whole state as of the start of segment 7 (covers 1..6)
 *   snapshot-….snap.tmp       a snapshot being written (an interrupted one is deleted on open)
 *   journal.lock              who owns the directory (see dir-lock.ts)
 */

export const LOCK_FILE = 'journal.lock';
export const TEMP_SUFFIX = '.tmp';

const PAD = 10;
// Ten digits or more: a number past 9999999999 is written in full, and must still be read.
const SEGMENT = /^journal-(\d{10,})\.log$/;
const SNAPSHOT = /^snapshot-(\d{10,})\.snap$/;

export function segmentName(seq: number): string {
  return `journal-${String(seq).padStart(PAD, '0')}.log`;
}

export function snapshotName(seq: number): string {
  return `snapshot-${String(seq).padStart(PAD, '0')}.snap`;
}

/** A directory's journal files, each list in ascending sequence order. */
export interface DirListing {
  segments: { name: string; seq: number }[];
  snapshots: { name: string; seq: number }[];
  /** Snapshot temp files left by an interrupted compaction. */
  temps: string[];
}

/** Sort a directory listing into segments, snapshots and leftovers; other files are ignored. */
export function classify(names: readonly string[]): DirListing {
  const out: DirListing = { segments: [], snapshots: [], temps: [] };
  for (const name of names) {
    const seg = SEGMENT.exec(name);
    const snap = SNAPSHOT.exec(name);
    if (seg) out.segments.push({ name, seq: Number(seg[1]) });
    else if (snap) out.snapshots.push({ name, seq: Number(snap[1]) });
    else if (name.startsWith('snapshot-') && name.endsWith(TEMP_SUFFIX)) out.temps.push(name);
  }
  out.segments.sort((a, b) => a.seq - b.seq);
  out.snapshots.sort((a, b) => a.seq - b.seq);
  return out;
}
