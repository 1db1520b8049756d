import { MessageType, supportsMessageType, isV2, type StationVersion } from '../versions.js';
import { RpcErrorCode, wireErrorCode } from '../rpc-error-codes.js';
import { jsonTextExceedsDepth } from '../json-depth.js';

/** Longest message id (OCPP-J 1.6 §4.1.4, 2.0.1 Part 4 §4.1.4: "maximum of 36 characters"). */
export const MAX_MESSAGE_ID_LENGTH = 36;
/** Id used in a CALLERROR when the id of the broken message cannot be read (2.0.1 Part 4 §4.2.3). */
export const UNREADABLE_MESSAGE_ID = '-1';

export type Payload = Record<string, unknown>;

export interface CallFrame {
  type: typeof MessageType.CALL | typeof MessageType.SEND;
  id: string;
  action: string;
  payload: Payload;
}
export interface CallResultFrame {
  type: typeof MessageType.CALLRESULT;
  id: string;
  payload: Payload;
}
export interface CallErrorFrame {
  type: typeof MessageType.CALLERROR | typeof MessageType.CALLRESULTERROR;
  id: string;
  code: string;
  description: string;
  details: Payload;
}
export type Frame = CallFrame | CallResultFrame | CallErrorFrame;

/** Why a frame was rejected; the `kind` is a bounded label for metrics. */
export const BadFrameKind = {
  notJson: 'notJson',
  notArray: 'notArray',
  badMessageType: 'badMessageType',
  unsupportedMessageType: 'unsupportedMessageType',
  badMessageId: 'badMessageId',
  badAction: 'badAction',
  badPayload: 'badPayload',
  badLength: 'badLength',
  badError: 'badError',
  /** Containers nested deeper than `ocpp.maxPayloadDepth` (json-depth.ts). */
  tooDeep: 'tooDeep',
} as const;
export type BadFrameKind = (typeof BadFrameKind)[keyof typeof BadFrameKind];

export interface BadFrame {
  type: 0;
  kind: BadFrameKind;
  /** Error code for the CALLERROR answer; null when the spec says to ignore the frame without answer. */
  code: RpcErrorCode | null;
  /** Id to answer with: the frame's own id when readable, else "-1". */
  id: string;
  /** Message type number of the frame when readable (a broken CALLRESULT gets no answer). */
  messageType: number | null;
  message: string;
}

function isPlainObject(value: unknown): value is Payload {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(kind: BadFrameKind, code: RpcErrorCode | null, id: string, messageType: number | null, message: string): BadFrame {
  return { type: 0, kind, code, id, messageType, message };
}

/**
 * Parses one text frame, once. Returns the frame or a BadFrame saying how to answer.
 * OCPP-J 1.6 §4.1–4.2, 2.0.1 Part 4 §4.1–4.3, 2.1 Part 4 §4.1–4.3.
 * `maxPayloadDepth` bounds the nesting of the payload (the frame array adds one level): deeper frames are a
 * FormatViolation (1.6: FormationViolation), answered with the frame's own id.
 */
export function parseFrame(text: string, version: StationVersion, maxPayloadDepth = Infinity): Frame | BadFrame {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return bad(BadFrameKind.notJson, RpcErrorCode.RpcFrameworkError, UNREADABLE_MESSAGE_ID, null, 'frame is not valid JSON');
  }
  if (!Array.isArray(data)) {
    return bad(BadFrameKind.notArray, RpcErrorCode.RpcFrameworkError, UNREADABLE_MESSAGE_ID, null, 'frame is not a JSON array');
  }
  const type = data[0];
  const rawId = data[1];
  const idReadable = typeof rawId === 'string' && rawId.length > 0 && rawId.length <= MAX_MESSAGE_ID_LENGTH;
  const id = idReadable ? rawId : UNREADABLE_MESSAGE_ID;
  if (typeof type !== 'number' || !Number.isInteger(type)) {
    return bad(BadFrameKind.badMessageType, RpcErrorCode.RpcFrameworkError, id, null, 'message type is not an integer');
  }
  if (!supportsMessageType(version, type)) {
    // 1.6 §4.1.3: ignore; 2.0.1 Part 4 §4.4: answer MessageTypeNotSupported.
    const code = isV2(version) ? RpcErrorCode.MessageTypeNotSupported : null;
    return bad(BadFrameKind.unsupportedMessageType, code, id, type, `message type ${type} is not supported by ${version}`);
  }
  if (!idReadable) {
    const what = typeof rawId !== 'string' ? 'not a string' : rawId.length === 0 ? 'empty' : `longer than ${MAX_MESSAGE_ID_LENGTH} characters`;
    return bad(BadFrameKind.badMessageId, RpcErrorCode.RpcFrameworkError, UNREADABLE_MESSAGE_ID, type, `message id is ${what}`);
  }
  if (maxPayloadDepth !== Infinity && jsonTextExceedsDepth(text, maxPayloadDepth + 1)) {
    return bad(BadFrameKind.tooDeep, RpcErrorCode.FormatViolation, id, type, `payload is nested deeper than ${maxPayloadDepth} levels`);
  }
  switch (type) {
    case MessageType.CALL:
    case MessageType.SEND: {
      if (data.length !== 4) {
        return bad(BadFrameKind.badLength, RpcErrorCode.RpcFrameworkError, id, type, `a CALL has 4 elements, got ${data.length}`);
      }
      const action = data[2];
      if (typeof action !== 'string' || action.length === 0) {
        return bad(BadFrameKind.badAction, RpcErrorCode.RpcFrameworkError, id, type, 'action is not a non-empty string');
      }
      const payload = data[3];
      if (!isPlainObject(payload)) {
        return bad(BadFrameKind.badPayload, RpcErrorCode.FormatViolation, id, type, 'payload is not a JSON object');
      }
      return { type, id, action, payload };
    }
    case MessageType.CALLRESULT: {
      if (data.length !== 3) {
        return bad(BadFrameKind.badLength, RpcErrorCode.RpcFrameworkError, id, type, `a CALLRESULT has 3 elements, got ${data.length}`);
      }
      const payload = data[2];
      if (!isPlainObject(payload)) {
        return bad(BadFrameKind.badPayload, RpcErrorCode.FormatViolation, id, type, 'payload is not a JSON object');
      }
      return { type, id, payload };
    }
    default: {
      // CALLERROR and 2.1 CALLRESULTERROR: [type, id, errorCode, errorDescription, errorDetails]
      if (data.length !== 5) {
        return bad(BadFrameKind.badLength, RpcErrorCode.RpcFrameworkError, id, type, `a CALLERROR has 5 elements, got ${data.length}`);
      }
      const [, , code, description, details] = data;
      if (typeof code !== 'string' || typeof description !== 'string' || !isPlainObject(details)) {
        return bad(BadFrameKind.badError, RpcErrorCode.RpcFrameworkError, id, type, 'CALLERROR needs a string code, a string description and an object of details');
      }
      return { type: type as 4 | 5, id, code, description, details };
    }
  }
}

export function isBadFrame(frame: Frame | BadFrame): frame is BadFrame {
  return frame.type === 0;
}

// Serializers: build the frame text directly; JSON.stringify only on the parts that need escaping.

export function serializeCall(id: string, action: string, payload: Payload): string {
  return `[2,${JSON.stringify(id)},${JSON.stringify(action)},${JSON.stringify(payload)}]`;
}

export function serializeCallResult(id: string, payload: Payload): string {
  return `[3,${JSON.stringify(id)},${JSON.stringify(payload)}]`;
}

/** 2.0.1 Part 4 §4.2.3: errorDescription is at most 255 characters. */
const MAX_ERROR_DESCRIPTION = 255;

export function serializeCallError(
  version: StationVersion,
  id: string,
  code: RpcErrorCode,
  description: string,
  details: Payload = {},
  type: typeof MessageType.CALLERROR | typeof MessageType.CALLRESULTERROR = MessageType.CALLERROR,
): string {
  const text = description.length > MAX_ERROR_DESCRIPTION ? description.slice(0, MAX_ERROR_DESCRIPTION - 1) + '…' : description;
  return `[${type},${JSON.stringify(id)},${JSON.stringify(wireErrorCode(version, code))},${JSON.stringify(text)},${JSON.stringify(details)}]`;
}
