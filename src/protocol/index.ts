export * from './errors.js';
export * from './framing.js';
export * from './jsonrpc.js';
export * from './messages.js';
export * from './text.js';
export * from './timestamp.js';
export * from './topics.js';
export * from './json-depth.js';
