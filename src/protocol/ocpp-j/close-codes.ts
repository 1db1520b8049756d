/** WebSocket close codes the router uses (RFC 6455 §7.4.1; 4000–4999 are application codes). */
export const CloseCode = {
  NORMAL: 1000,
  /** Server stopping (graceful or fast). */
  GOING_AWAY: 1001,
  /** No acceptable OCPP subprotocol (OCPP-J 1.6 §3.1.2: complete the handshake, then close). */
  PROTOCOL_ERROR: 1002,
  /** Binary frame: OCPP-J uses text frames only. */
  UNSUPPORTED_DATA: 1003,
  /**
   * A text frame that is not valid UTF-8 (RFC 6455 §8.1). uWS 20.30 drops such a connection itself, without
   * sending a close frame; the router records the disconnect with this code.
   */
  INVALID_PAYLOAD: 1007,
  /** Too many bad frames in a row, or inbound queue overflow. */
  POLICY_VIOLATION: 1008,
  /** Frame larger than ocpp.maxFrameBytes. */
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  /** The same identity connected again: the newest connection wins. */
  REPLACED: 4000,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
