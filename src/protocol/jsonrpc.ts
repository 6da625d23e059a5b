import { ErrorCode, RpcError, type RpcErrorObject } from './errors.js';
import { shownName } from './excerpt.js';
import { textWithRawMembers } from './raw-json.js';

/** A JSON-RPC id as the specification allows it. */
export type RpcId = string | number | null;

/** Params as they arrive: by name or by position. */
export type RpcParams = Record<string, unknown> | unknown[];

/** A well-formed request or notification. */
export interface RpcCall {
  kind: 'call';
  method: string;
  params: RpcParams | undefined;
  /** `undefined` for a notification, which is never answered. */
  id: RpcId | undefined;
}

/** A well-formed response (peers send these to answer our requests). */
export interface RpcResponse {
  kind: 'response';
  id: RpcId;
  result?: unknown;
  error?: RpcErrorObject;
}

/** Anything else: answered with -32600, echoing the id when it is usable. */
export interface RpcInvalid {
  kind: 'invalid';
  id: RpcId;
  reason: string;
}

export type RpcClassified = RpcCall | RpcResponse | RpcInvalid;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * True for an id the broker can echo exactly. A number outside the safe-integer range or
 * with a fraction may not survive a round trip through the peer's number type (1e400
 * parses as Infinity, 2^53 + 1 as 2^53), so the contract refuses it instead of echoing
 * a different id.
 */
function isEchoableId(id: unknown): id is RpcId {
  return typeof id === 'string' || id === null || (typeof id === 'number' && Number.isSafeInteger(id));
}

function usableId(id: unknown): RpcId {
  return isEchoableId(id) ? id : null;
}

/** Classify one parsed JSON value (one element of a batch, or a whole frame). */
export function classify(value: unknown): RpcClassified {
  if (!isPlainObject(value)) {
    return { kind: 'invalid', id: null, reason: 'expected a JSON-RPC 2.0 object' };
  }
  const id = value.id;
  if (value.jsonrpc !== '2.0') {
    return { kind: 'invalid', id: usableId(id), reason: 'jsonrpc must be "2.0"' };
  }
  if (id !== undefined && !isEchoableId(id)) {
    return { kind: 'invalid', id: null, reason: 'id must be a string, null or an integer within +/-(2^53 - 1)' };
  }
  if (!('method' in value)) {
    if (('result' in value || 'error' in value) && id !== undefined) {
      const error = value.error;
      if ('error' in value) {
        return isPlainObject(error) && typeof error.code === 'number' && typeof error.message === 'string'
          ? { kind: 'response', id, error: error as unknown as RpcErrorObject }
          : { kind: 'invalid', id: usableId(id), reason: 'error must be an object with a numeric code and a string message' };
      }
      return { kind: 'response', id, result: value.result };
    }
    return { kind: 'invalid', id: usableId(id), reason: 'method is missing' };
  }
  if (typeof value.method !== 'string') {
    return { kind: 'invalid', id: usableId(id), reason: 'method must be a string' };
  }
  const params = value.params;
  if (params !== undefined && !isPlainObject(params) && !Array.isArray(params)) {
    return { kind: 'invalid', id: usableId(id), reason: 'params must be an object or an array' };
  }
  return { kind: 'call', method: value.method, params, id };
}

/** Serialise a success response. */
export function resultResponse(id: RpcId, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', result: result === undefined ? null : result, id });
}

/** Serialise an error response. */
export function errorResponse(id: RpcId, error: RpcError | RpcErrorObject): string {
  const err = error instanceof RpcError ? error.toJSON() : error;
  return JSON.stringify({ jsonrpc: '2.0', error: err, id });
}

/** A response before it is serialised. */
export interface RpcResponseObject {
  jsonrpc: '2.0';
  result?: unknown;
  error?: RpcErrorObject;
  id: RpcId;
}

/** Response object (not serialised), for batches. */
export function resultObject(id: RpcId, result: unknown): RpcResponseObject {
  return { jsonrpc: '2.0', result: result === undefined ? null : result, id };
}

/** Error response object (not serialised), for batches. */
export function errorObject(id: RpcId, error: RpcError | RpcErrorObject): RpcResponseObject {
  return { jsonrpc: '2.0', error: error instanceof RpcError ? error.toJSON() : error, id };
}

/** Serialise a notification. */
export function notification(method: string, params: unknown): string {
  // A RawJson member (a payload kept as written) goes out as its text.
  const text = textWithRawMembers(params);
  return text === null ? JSON.stringify({ jsonrpc: '2.0', method, params }) : `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${text}}`;
}

/** Serialise a request. */
export function request(id: RpcId, method: string, params: unknown): string {
  // A RawJson member (a payload kept as written) goes out as its text.
  const text = textWithRawMembers(params);
  return text === null ? JSON.stringify({ jsonrpc: '2.0', method, params, id }) : `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${text},"id":${JSON.stringify(id)}}`;
}


/** The standard messages for the standard codes. */
export const parseError = (detail?: string): RpcError =>
  new RpcError(ErrorCode.PARSE_ERROR, detail ? `Parse error: ${detail}` : 'Parse error');
export const invalidRequest = (detail: string, data?: unknown): RpcError =>
  new RpcError(ErrorCode.INVALID_REQUEST, `Invalid Request: ${detail}`, data);
export const methodNotFound = (method: string): RpcError =>
  new RpcError(ErrorCode.METHOD_NOT_FOUND, `Method not found: ${shownName(method)}`);
export const invalidParams = (detail: string, data?: unknown): RpcError =>
  new RpcError(ErrorCode.INVALID_PARAMS, `Invalid params: ${detail}`, data);
