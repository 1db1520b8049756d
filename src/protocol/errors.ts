/**
 * One base class for every error the router raises, with a stable `code` from one registry.
 * Errors cross threads as plain `{ code, message, details }` (postMessage drops class and `code`).
 */
export const ErrorCode = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  CONFIG_READ: 'CONFIG_READ',
  STATION_NOT_FOUND: 'STATION_NOT_FOUND',
  STATION_NOT_CONNECTED: 'STATION_NOT_CONNECTED',
  CALL_TIMEOUT: 'CALL_TIMEOUT',
  CALL_QUEUE_FULL: 'CALL_QUEUE_FULL',
  CALL_REJECTED: 'CALL_REJECTED',
  CALL_ABORTED: 'CALL_ABORTED',
  CALL_ERROR: 'CALL_ERROR',
  PAYLOAD_INVALID: 'PAYLOAD_INVALID',
  UNKNOWN_ACTION: 'UNKNOWN_ACTION',
  SHARD_UNAVAILABLE: 'SHARD_UNAVAILABLE',
  /** NATS is unreachable: the cluster (other nodes, the directory) cannot be asked. */
  CLUSTER_UNAVAILABLE: 'CLUSTER_UNAVAILABLE',
  /** The node that holds a station does not answer (stopped, killed, partitioned). */
  NODE_UNAVAILABLE: 'NODE_UNAVAILABLE',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  PERSISTENCE: 'PERSISTENCE',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export class RouterError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RouterError';
    this.code = code;
    this.details = options.details;
  }

  toJSON(): SerializedError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(data: SerializedError): RouterError {
    return new RouterError(data.code, data.message, { details: data.details });
  }
}

/** Plain data for any thrown value, for crossing a thread boundary. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof RouterError) return error.toJSON();
  const message = error instanceof Error ? error.message : String(error);
  return { code: ErrorCode.INTERNAL, message };
}
