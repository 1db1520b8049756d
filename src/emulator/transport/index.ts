/**
 * The wires of the emulated stations. OCPP-J: the emulator's own RFC 6455 WebSocket client (./ws-client.ts with
 * ./ws-handshake.ts, ./ws-frames.ts and ./ws-types.ts), built for thousands of idle connections per thread: the
 * station is the handler of its client, nothing is allocated per message beyond the message itself. OCPP-S:
 * the SoapHub of a fleet thread (./soap-hub.ts, with the 1.5 payload conversions of ./soap-v15.ts), the HTTP
 * client of the central system's CentralSystemService and the server of the stations' ChargePointService. The
 * hub is not exported here: a fleet loads it on demand, only when it has OCPP-S stations.
 */
export { WsClient, type WsHandler } from './ws-client.js';
export { maskedFrame, isValidCloseCode } from './ws-frames.js';
export { WS_CONNECTING, WS_OPEN, WS_CLOSING, WS_CLOSED, WsError, type WsReadyState, type WsErrorCode, type WsClientOptions, type WsTlsOptions } from './ws-types.js';
