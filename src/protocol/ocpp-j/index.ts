/**
 * OCPP-J over any text transport: frames (./frames.ts: parse once, serialize directly), the handshake rules
 * (./handshake.ts: identity, subprotocol, Basic header), close codes, and the RPC session here: one station's
 * discipline in both directions. Nothing in this folder knows sockets, threads or backends' implementations:
 * the transport and the backend are injected (./session-context.ts, ../backend.ts).
 */
export { RpcSession, type BootState } from './rpc-session.js';
export type { CallKeeper, Direction, ObservedSession, SessionContext, SessionHooks, SessionOptions, SessionTransport } from './session-context.js';
export { parseFrame, isBadFrame, serializeCall, serializeCallResult, serializeCallError, BadFrameKind, type Frame, type BadFrame, type Payload } from './frames.js';
export { parseStationPath, selectSubprotocol, parseBasicAuth, isRefusal } from './handshake.js';
export { CloseCode } from './close-codes.js';
