import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseFrame,
  isBadFrame,
  serializeCall,
  serializeCallResult,
  serializeCallError,
  MAX_MESSAGE_ID_LENGTH,
  UNREADABLE_MESSAGE_ID,
  type BadFrame,
  type Frame,
} from '../src/protocol/ocpp-j/frames.js';
import { RpcErrorCode, wireErrorCode, canonicalErrorCode } from '../src/protocol/rpc-error-codes.js';
import { OCPP_VERSIONS, type OcppVersion } from '../src/protocol/versions.js';

function bad(text: string, version: OcppVersion): BadFrame {
  const frame = parseFrame(text, version);
  assert.ok(isBadFrame(frame), `${text} should be bad in ${version}`);
  return frame;
}

function good(text: string, version: OcppVersion): Frame {
  const frame = parseFrame(text, version);
  assert.ok(!isBadFrame(frame), `${text} should parse in ${version}: ${JSON.stringify(frame)}`);
  return frame;
}

/** [text, kind, code, id, messageType] — the same in every version. */
const BAD_EVERYWHERE: Array<[string, BadFrame['kind'], RpcErrorCode, string, number | null]> = [
  ['', 'notJson', 'RpcFrameworkError', '-1', null],
  ['[2,"a"', 'notJson', 'RpcFrameworkError', '-1', null],
  ['{}', 'notArray', 'RpcFrameworkError', '-1', null],
  ['42', 'notArray', 'RpcFrameworkError', '-1', null],
  ['null', 'notArray', 'RpcFrameworkError', '-1', null],
  ['[]', 'badMessageType', 'RpcFrameworkError', '-1', null],
  ['["2","a","Heartbeat",{}]', 'badMessageType', 'RpcFrameworkError', 'a', null],
  ['[2.5,"a","Heartbeat",{}]', 'badMessageType', 'RpcFrameworkError', 'a', null],
  ['[null,"a"]', 'badMessageType', 'RpcFrameworkError', 'a', null],
  ['["2",5]', 'badMessageType', 'RpcFrameworkError', '-1', null],
  ['[2,5,"Heartbeat",{}]', 'badMessageId', 'RpcFrameworkError', '-1', 2],
  ['[2,"","Heartbeat",{}]', 'badMessageId', 'RpcFrameworkError', '-1', 2],
  [`[2,"${'x'.repeat(37)}","Heartbeat",{}]`, 'badMessageId', 'RpcFrameworkError', '-1', 2],
  ['[3,null,{}]', 'badMessageId', 'RpcFrameworkError', '-1', 3],
  ['[2]', 'badMessageId', 'RpcFrameworkError', '-1', 2],
  ['[2,"a","Heartbeat"]', 'badLength', 'RpcFrameworkError', 'a', 2],
  ['[2,"a","Heartbeat",{},1]', 'badLength', 'RpcFrameworkError', 'a', 2],
  ['[2,"a",1,{}]', 'badAction', 'RpcFrameworkError', 'a', 2],
  ['[2,"a","",{}]', 'badAction', 'RpcFrameworkError', 'a', 2],
  ['[2,"a","Heartbeat",[]]', 'badPayload', 'FormatViolation', 'a', 2],
  ['[2,"a","Heartbeat",null]', 'badPayload', 'FormatViolation', 'a', 2],
  ['[2,"a","Heartbeat","{}"]', 'badPayload', 'FormatViolation', 'a', 2],
  ['[3,"a"]', 'badLength', 'RpcFrameworkError', 'a', 3],
  ['[3,"a",{},1]', 'badLength', 'RpcFrameworkError', 'a', 3],
  ['[3,"a",[]]', 'badPayload', 'FormatViolation', 'a', 3],
  ['[3,"a",7]', 'badPayload', 'FormatViolation', 'a', 3],
  ['[4,"a","GenericError",""]', 'badLength', 'RpcFrameworkError', 'a', 4],
  ['[4,"a","GenericError","",{},1]', 'badLength', 'RpcFrameworkError', 'a', 4],
  ['[4,"a",1,"",{}]', 'badError', 'RpcFrameworkError', 'a', 4],
  ['[4,"a","GenericError",null,{}]', 'badError', 'RpcFrameworkError', 'a', 4],
  ['[4,"a","GenericError","",[]]', 'badError', 'RpcFrameworkError', 'a', 4],
  ['[4,"a","GenericError","",null]', 'badError', 'RpcFrameworkError', 'a', 4],
];

test('parseFrame: every bad branch, every version', () => {
  for (const version of OCPP_VERSIONS) {
    for (const [text, kind, code, id, messageType] of BAD_EVERYWHERE) {
      const frame = bad(text, version);
      assert.deepEqual(
        { kind: frame.kind, code: frame.code, id: frame.id, messageType: frame.messageType, type: frame.type },
        { kind, code, id, messageType, type: 0 },
        `${version} ${text}`,
      );
      assert.equal(typeof frame.message, 'string');
    }
  }
});

test('parseFrame: unsupported message types (1.6: no answer; 2.x: MessageTypeNotSupported)', () => {
  const unsupported: Record<OcppVersion, number[]> = {
    'ocpp1.6': [0, 1, 5, 6, 7, -2, 1000],
    'ocpp2.0.1': [0, 1, 5, 6, 7, -2, 1000],
    'ocpp2.1': [0, 1, 7, -2, 1000],
  };
  for (const version of OCPP_VERSIONS) {
    for (const type of unsupported[version]) {
      const frame = bad(JSON.stringify([type, 'id1', 'Heartbeat', {}]), version);
      assert.equal(frame.kind, 'unsupportedMessageType');
      assert.equal(frame.code, version === 'ocpp1.6' ? null : 'MessageTypeNotSupported', `${version} ${type}`);
      assert.equal(frame.id, 'id1');
      assert.equal(frame.messageType, type);
      // The type is checked before the id: an unreadable id still gives unsupportedMessageType with "-1".
      const noId = bad(JSON.stringify([type, 17]), version);
      assert.equal(noId.kind, 'unsupportedMessageType');
      assert.equal(noId.id, UNREADABLE_MESSAGE_ID);
    }
  }
});

test('parseFrame: well-formed frames', () => {
  for (const version of OCPP_VERSIONS) {
    assert.deepEqual(good('[2,"a","Heartbeat",{}]', version), { type: 2, id: 'a', action: 'Heartbeat', payload: {} });
    assert.deepEqual(good(' [3 , "b" , {"x":1}] ', version), { type: 3, id: 'b', payload: { x: 1 } });
    assert.deepEqual(good('[4,"c","NotImplemented","no",{"k":"v"}]', version), { type: 4, id: 'c', code: 'NotImplemented', description: 'no', details: { k: 'v' } });
    // Any error code string is accepted when parsing (mapping to canonical codes happens later).
    assert.equal((good('[4,"c","VendorSpecific","",{}]', version) as { code: string }).code, 'VendorSpecific');
    const id36 = 'x'.repeat(MAX_MESSAGE_ID_LENGTH);
    assert.equal((good(`[2,"${id36}","Heartbeat",{}]`, version) as { id: string }).id, id36);
    // Unicode ids count characters (UTF-16 units), not bytes.
    assert.equal((good(`[2,"${'é'.repeat(36)}","Heartbeat",{}]`, version) as { id: string }).id.length, 36);
  }
  // 2.1 only: CALLRESULTERROR and SEND.
  assert.deepEqual(good('[5,"d","FormatViolation","bad",{}]', 'ocpp2.1'), { type: 5, id: 'd', code: 'FormatViolation', description: 'bad', details: {} });
  assert.deepEqual(good('[6,"e","NotifyPeriodicEventStream",{"id":1}]', 'ocpp2.1'), { type: 6, id: 'e', action: 'NotifyPeriodicEventStream', payload: { id: 1 } });
  // SEND has the CALL shape: its bad branches say so through messageType 6.
  const send = bad('[6,"e","NotifyPeriodicEventStream"]', 'ocpp2.1');
  assert.deepEqual([send.kind, send.messageType, send.id], ['badLength', 6, 'e']);
  const result = bad('[5,"e","X",""]', 'ocpp2.1');
  assert.deepEqual([result.kind, result.messageType], ['badLength', 5]);
});

test('serializers build exact frames that parse back', () => {
  assert.equal(serializeCall('1', 'Heartbeat', {}), '[2,"1","Heartbeat",{}]');
  assert.equal(serializeCallResult('1', { a: 'b"c' }), '[3,"1",{"a":"b\\"c"}]');
  assert.equal(serializeCall('q"\\\n', 'A', { n: 1 }), JSON.stringify([2, 'q"\\\n', 'A', { n: 1 }]));
  assert.equal(serializeCallError('ocpp2.0.1', 'x', 'FormatViolation', 'bad'), '[4,"x","FormatViolation","bad",{}]');
  assert.equal(serializeCallError('ocpp1.6', 'x', 'FormatViolation', 'bad', { a: 1 }), '[4,"x","FormationViolation","bad",{"a":1}]');
  assert.equal(serializeCallError('ocpp2.1', 'x', 'RpcFrameworkError', 'bad', {}, 5), '[5,"x","RpcFrameworkError","bad",{}]');
  for (const version of OCPP_VERSIONS) {
    const frame = good(serializeCallError(version, 'id', 'OccurrenceConstraintViolation', 'd', { k: [1] }), version);
    assert.deepEqual(frame, { type: 4, id: 'id', code: wireErrorCode(version, 'OccurrenceConstraintViolation'), description: 'd', details: { k: [1] } });
  }
});

test('serializeCallError truncates the description to 255 characters', () => {
  for (const length of [254, 255]) {
    const text = 'd'.repeat(length);
    assert.equal((JSON.parse(serializeCallError('ocpp2.0.1', 'x', 'GenericError', text)) as unknown[])[3], text, `${length} kept`);
  }
  for (const length of [256, 1000]) {
    const description = (JSON.parse(serializeCallError('ocpp2.0.1', 'x', 'GenericError', 'd'.repeat(length))) as unknown[])[3] as string;
    assert.equal(description.length, 255, `${length} cut`);
    assert.equal(description, 'd'.repeat(254) + '…');
  }
  // Escaping does not count: 255 quotes stay 255 characters.
  const quotes = '"'.repeat(255);
  assert.equal((JSON.parse(serializeCallError('ocpp1.6', 'x', 'GenericError', quotes)) as unknown[])[3], quotes);
});

test('wire error codes per version: 1.6 keeps its misspellings and has no 2.x-only codes', () => {
  const codes = Object.values(RpcErrorCode);
  assert.equal(codes.length, 12);
  const v16 = new Set(codes.map((c) => wireErrorCode('ocpp1.6', c)));
  // OCPP-J 1.6 Table 7: exactly these 10 codes.
  assert.deepEqual(
    [...v16].sort(),
    ['FormationViolation', 'GenericError', 'InternalError', 'NotImplemented', 'NotSupported', 'OccurenceConstraintViolation', 'PropertyConstraintViolation', 'ProtocolError', 'SecurityError', 'TypeConstraintViolation'],
  );
  assert.equal(wireErrorCode('ocpp1.6', 'FormatViolation'), 'FormationViolation');
  assert.equal(wireErrorCode('ocpp1.6', 'OccurrenceConstraintViolation'), 'OccurenceConstraintViolation');
  assert.equal(wireErrorCode('ocpp1.6', 'RpcFrameworkError'), 'FormationViolation');
  assert.equal(wireErrorCode('ocpp1.6', 'MessageTypeNotSupported'), 'NotSupported');
  for (const version of ['ocpp2.0.1', 'ocpp2.1'] as const) {
    for (const code of codes) assert.equal(wireErrorCode(version, code), code, `${version} ${code}`);
  }
});

test('canonicalErrorCode reads both spellings in 1.6 and only the 2.x ones in 2.x', () => {
  assert.equal(canonicalErrorCode('ocpp1.6', 'FormationViolation'), 'FormatViolation');
  assert.equal(canonicalErrorCode('ocpp1.6', 'OccurenceConstraintViolation'), 'OccurrenceConstraintViolation');
  // Peers (e.g. ocpp-rpc) send the correct spelling on 1.6 too.
  assert.equal(canonicalErrorCode('ocpp1.6', 'OccurrenceConstraintViolation'), 'OccurrenceConstraintViolation');
  assert.equal(canonicalErrorCode('ocpp1.6', 'NotSupported'), 'NotSupported');
  assert.equal(canonicalErrorCode('ocpp2.0.1', 'FormationViolation'), undefined);
  assert.equal(canonicalErrorCode('ocpp2.1', 'OccurenceConstraintViolation'), undefined);
  assert.equal(canonicalErrorCode('ocpp2.0.1', 'RpcFrameworkError'), 'RpcFrameworkError');
  assert.equal(canonicalErrorCode('ocpp2.0.1', 'Bogus'), undefined);
  assert.equal(canonicalErrorCode('ocpp2.0.1', 'toString'), undefined);
  for (const version of OCPP_VERSIONS) {
    for (const code of Object.values(RpcErrorCode)) {
      if (version === 'ocpp1.6' && (code === 'RpcFrameworkError' || code === 'MessageTypeNotSupported')) continue; // not bijective in 1.6
      assert.equal(canonicalErrorCode(version, wireErrorCode(version, code)), code, `${version} ${code} round trip`);
    }
  }
});

// Regression: `wire in FROM_WIRE_1_6` also saw Object.prototype, so on 1.6 a station's CALLERROR code
// "constructor"/"toString"/"__proto__" canonicalized to a function/object that failed to cross postMessage and
// crashed the shard (every station on it disconnected).
test('canonicalErrorCode: prototype keys are not error codes in 1.6', () => {
  for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    assert.equal(canonicalErrorCode('ocpp1.6', key), undefined, key);
    assert.equal(canonicalErrorCode('ocpp2.0.1', key), undefined, key);
  }
});
