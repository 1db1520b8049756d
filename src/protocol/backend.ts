import type { StationVersion } from './versions.js';
import type { RpcErrorCode } from './rpc-error-codes.js';

/** What a backend knows about the station that sent a CALL. */
export interface StationContext {
  identity: string;
  account: string | null;
  version: StationVersion;
  /** OCPP-J over WebSocket, or OCPP-S over SOAP (absent means 'ws'). */
  readonly transport?: 'ws' | 'soap';
}

/** A CALL from a station, already validated against its request schema. */
export interface InboundCall {
  station: StationContext;
  uniqueId: string;
  action: string;
  payload: Record<string, unknown>;
}

export type BackendReply =
  | { kind: 'result'; payload: Record<string, unknown> }
  | { kind: 'error'; code: RpcErrorCode; description: string; details?: Record<string, unknown> };

/** The reply of a backend that threw or rejected: the station gets InternalError, the thread goes on. */
export function backendFailure(error: unknown): BackendReply {
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'error', code: 'InternalError', description: `backend failure: ${message}` };
}

/**
 * A backend answers station CALLs. The protocol layer owns this interface; the implementations (built-in
 * responder, webhook, …) live in src/backends/ and are injected into the session context. It may answer synchronously (the responder does, to keep the frame
 * path free of promises) or with a promise. The router validates the reply against the response schema.
 */
export interface Backend {
  readonly name: string;
  handleCall(call: InboundCall): BackendReply | Promise<BackendReply>;
  /** Finish in-flight work; called on graceful stop. */
  close?(): Promise<void>;
}
