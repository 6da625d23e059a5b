/**
 * JSON-RPC error codes of the wire contract. Errors cross the protocol edge as values
 * (`RpcError`), never as thrown strings, so every layer can map them to a response.
 */
export const ErrorCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  NOT_CONNECTED: -32001,
  TIMEOUT: -32002,
  SUBSCRIPTION_ERROR: -32003,
  PUBLISH_ERROR: -32004,
  NO_RESPONDERS: -32005,
  LIMIT_EXCEEDED: -32006,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Human-readable names, used in logs and by the client's error messages. */
export const ERROR_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ErrorCode).map(([name, code]) => [code, name]),
);

/** The `error` member of a JSON-RPC response. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** An error that maps one-to-one onto a JSON-RPC error response. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }

  toJSON(): RpcErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }

  static from(obj: RpcErrorObject): RpcError {
    return new RpcError(obj.code, obj.message, obj.data);
  }
}

/** Type guard for a value shaped like a JSON-RPC error object. */
export function isRpcErrorObject(value: unknown): value is RpcErrorObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'number' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}
