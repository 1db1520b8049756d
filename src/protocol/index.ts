/**
 * The protocol layer, pure: what OCPP is, independent of sockets, threads, databases and the product around it.
 * Versions and message types, RPC error codes and their spellings per version, which side sends which action,
 * OCPP-J frames and the RPC session (one station's discipline in both directions), the outbound queue, payload
 * validation with the generated validators, the OCPP-S (SOAP) codec, station identities, payload depth, the
 * command catalogue per version, the router's error codes, and the backend interface the session calls. It
 * imports nothing else of src/ and nothing of uWebSockets.js, undici, prom-client or Node's networking
 * (scripts/check-imports.mjs); everything above injects what it needs. This file lists the main entry points.
 */
export { OCPP_VERSIONS, MessageType, isV2, type OcppVersion, type StationVersion } from './versions.js';
export { RouterError, ErrorCode, serializeError, type SerializedError } from './errors.js';
export { RpcErrorCode, wireErrorCode, canonicalErrorCode } from './rpc-error-codes.js';
export type { Backend, BackendReply, InboundCall, StationContext } from './backend.js';
export { RpcSession } from './ocpp-j/rpc-session.js';
export type { SessionContext, SessionHooks, SessionOptions, SessionTransport } from './ocpp-j/session-context.js';
export { parseFrame, serializeCall, serializeCallResult, serializeCallError } from './ocpp-j/frames.js';
export { OutboundQueue, type OutboundCall, type OutboundHost } from './outbound-queue.js';
export { backoffMs } from './backoff.js';
export { identityProblem } from './identity.js';
export { jsonTextExceedsDepth, valueExceedsDepth } from './json-depth.js';
export { centralOperations, commandSchema, commandValidators } from './commands/catalogue.js';
export { prepareCommand } from './commands/prepare.js';
