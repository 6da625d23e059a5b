/**
 * File IPC: publish the lines legacy AutoHotkey scripts FileAppend to a queue file.
 * The entry point is {@link QueueTailer}; the other exports are its parts, for tests and
 * for tools that need one piece (e.g. the parser for a dry run).
 */
export { QueueTailer, INVALID_LINE_TOPIC } from './tailer.js';
export type { QueueTailerOptions, QueuePublish, PublishBatch, PublishRefusal, QueueTailerStats, QueueTailerEvents } from './tailer.js';
export { LineParser, parsePayload, normalisePrefix, prefixProblem, mapTargetProblem, mapNameProblem } from './line-parser.js';
export type { LineParserOptions, ParsedLine } from './line-parser.js';
export { QueueDecoder, DEFAULT_QUEUE_ENCODING, DEFAULT_MAX_LINE_BYTES, assertQueueEncoding } from './decoder.js';
export type { DecodedLine, DecoderState, QueueDecoderOptions } from './decoder.js';
export { PositionStore } from './position-store.js';
export type { QueuePosition } from './position-store.js';
export { DeadLetterFile, formatDeadLetter } from './dead-letter.js';
export type { DeadLetter } from './dead-letter.js';
export { readSlice, statQueue, findByIdentity, identityKey } from './queue-file.js';
export type { QueueFs, QueueFileHandle, Slice, SliceRequest } from './queue-file.js';
export { retryBusy, isBusyError } from './retry.js';
