/**
 * Is the file at the queue path still the one being read, and does the confirmed offset
 * still fit it? The tailer follows one file as a {@link Track}: its identity, how far it
 * was confirmed, and what the file looked like there (its first bytes, whether a newline
 * ends the confirmed part). A read at the queue path is judged against the track: no
 * file (deleted or rotated away), another file (replaced or rotated), the same file
 * truncated or rewritten in place (read again from 0 as a new generation), or the same
 * file still growing (read on).
 */
import { newlineBytes, type DecodedLine, type DecoderState } from './decoder.js';
import type { QueuePosition } from './position-store.js';
import { currentIdentityKey, type Slice, type SliceRequest } from './queue-file.js';

/** How many of a file's first bytes are remembered to notice that it was rewritten. */
const HEAD_BYTES = 64;

/** The file being read and how far its lines were accepted. */
export interface Track {
  /** Identity key of the file (see `identityKey`). */
  identity: string;
  /** How many times this same file was found truncated or rewritten (part of queue ids). */
  generation: number;
  /** Confirmed offset: everything before it was accepted. */
  offset: number;
  /** Decoder state at `offset`. */
  state: DecoderState;
  /** The bytes just before `offset` are a newline. */
  atNewline: boolean;
  /** The file's first min(HEAD_BYTES, offset) bytes. */
  head: Buffer;
}

/** What a read at the queue path found, compared with the track. */
export type Continuity =
  /** No file has the queue's name. */
  | { kind: 'missing' }
  /** A file and no track yet: the first file seen. */
  | { kind: 'first'; slice: Slice }
  /** Another file has the queue's name now. */
  | { kind: 'replaced'; track: Track; slice: Slice }
  /** The same file, but the confirmed offset no longer fits it. */
  | { kind: 'rewritten'; track: Track; slice: Slice; reason: string }
  /** The same file, still consistent with the track: read on from the offset. */
  | { kind: 'same'; track: Track; slice: Slice };

/**
 * A track at byte 0 of a file.
 * @param defaultEncoding the configured code page (used until a BOM says otherwise)
 */
export function freshTrack(identity: string, generation: number, defaultEncoding: string): Track {
  return {
    identity, generation, offset: 0, atNewline: false, head: Buffer.alloc(0),
    state: { encoding: defaultEncoding, source: 'default', midLine: false },
  };
}

/** The track a saved position describes. */
export function trackFromPosition(p: QueuePosition): Track {
  return {
    identity: currentIdentityKey(p.identity),
    generation: p.generation,
    offset: p.offset,
    state: p.state,
    atNewline: p.atNewline,
    head: Buffer.from(p.head, 'base64'),
  };
}

/** The position to save for `track`. */
export function positionOf(track: Track): QueuePosition {
  return {
    identity: track.identity, generation: track.generation, offset: track.offset,
    state: track.state, atNewline: track.atNewline, head: track.head.toString('base64'),
  };
}

/**
 * Confirm `track` up to the end of `last`, the last line of an accepted batch.
 * @param head the file's first bytes as read with the batch (kept for the rewrite check)
 */
export function advanceTrack(track: Track, last: DecodedLine, head: Buffer): void {
  track.offset = last.end;
  track.state = last.state;
  track.atNewline = last.cut === undefined;
  const keep = Math.min(HEAD_BYTES, track.offset);
  if (track.head.length < keep) track.head = Buffer.from(head.subarray(0, keep));
}

function effectiveEncoding(state: DecoderState, defaultEncoding: string): string {
  return state.source === 'bom' ? state.encoding : defaultEncoding;
}

/**
 * What to read at `offset` so that {@link discontinuity} can check the file against
 * `track`: the file's first bytes, and the newline the track expects before its offset.
 */
export function sliceRequest(track: Track | null, offset: number, maxBytes: number, defaultEncoding: string): SliceRequest {
  if (!track || !track.atNewline) return { offset, maxBytes, headBytes: HEAD_BYTES };
  const nl = newlineBytes(effectiveEncoding(track.state, defaultEncoding)).length;
  return { offset, maxBytes, headBytes: HEAD_BYTES, probe: { position: track.offset - nl, length: nl } };
}

/**
 * Why the confirmed offset no longer fits `slice`, read from the track's own file (by
 * identity), or null when it does. Appending never changes the bytes before the offset,
 * so a shorter file, other first bytes or no newline before the offset mean a rewrite.
 */
export function discontinuity(track: Track, slice: Slice, defaultEncoding: string): string | null {
  if (slice.size < track.offset) return `truncated (size ${slice.size} < offset ${track.offset})`;
  if (track.head.length > 0 && !slice.head.subarray(0, track.head.length).equals(track.head)) {
    return 'rewritten (its first bytes changed)';
  }
  if (track.atNewline && track.offset > 0) {
    const nl = newlineBytes(effectiveEncoding(track.state, defaultEncoding));
    if (!slice.probe || !slice.probe.equals(nl)) return 'rewritten (no line end before the saved offset)';
  }
  return null;
}

/**
 * Judge a read at the queue path (`slice`, null when no file is there) against `track`
 * (null before any file was seen).
 */
export function judge(track: Track | null, slice: Slice | null, defaultEncoding: string): Continuity {
  if (!slice) return { kind: 'missing' };
  if (!track) return { kind: 'first', slice };
  if (slice.identity !== track.identity) return { kind: 'replaced', track, slice };
  const reason = discontinuity(track, slice, defaultEncoding);
  return reason ? { kind: 'rewritten', track, slice, reason } : { kind: 'same', track, slice };
}
