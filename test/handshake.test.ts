import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStationPath, isRefusal, selectSubprotocol, parseBasicAuth } from '../src/protocol/ocpp-j/handshake.js';

function path(url: string, prefix = '/ocpp', max = 48) {
  return parseStationPath(url, prefix, max);
}

test('parseStationPath: identity and optional account', () => {
  assert.deepEqual(path('/ocpp/CP1'), { identity: 'CP1', account: null });
  assert.deepEqual(path('/ocpp/CP1/'), { identity: 'CP1', account: null });
  assert.deepEqual(path('/ocpp/acme/CP1'), { identity: 'CP1', account: 'acme' });
  assert.deepEqual(path('/ocpp/acme/CP1/'), { identity: 'CP1', account: 'acme' });
  assert.deepEqual(path('/ocpp/CP%2D1'), { identity: 'CP-1', account: null });
  assert.deepEqual(path('/ocpp/A-z_0.9*=+|@'), { identity: 'A-z_0.9*=+|@', account: null });
  // The prefix may be given with a trailing slash, or be deeper.
  assert.deepEqual(path('/ocpp/CP1', '/ocpp/'), { identity: 'CP1', account: null });
  assert.deepEqual(path('/a/b/CP1', '/a/b'), { identity: 'CP1', account: null });
  assert.deepEqual(path('/CP1', '/'), { identity: 'CP1', account: null });
  // Length limit counts decoded characters.
  assert.deepEqual(path(`/ocpp/${'a'.repeat(48)}`), { identity: 'a'.repeat(48), account: null });
  assert.deepEqual(path(`/ocpp/${'%41'.repeat(48)}`), { identity: 'A'.repeat(48), account: null });
  assert.deepEqual(path('/ocpp/CP1', '/ocpp', 3), { identity: 'CP1', account: null });
});

test('parseStationPath: refusals with status and reason', () => {
  const cases: Array<[string, number, string]> = [
    ['/other/CP1', 404, 'badPath'],
    ['/ocppx/CP1', 404, 'badPath'],
    ['/ocpp', 404, 'badPath'],
    ['/ocpp/a/b/c', 404, 'badPath'],
    ['/ocpp/', 400, 'badIdentity'],
    ['/ocpp//', 400, 'badIdentity'],
    ['/ocpp/acme//', 400, 'badIdentity'],
    ['/ocpp/CP%201', 400, 'badIdentity'],
    ['/ocpp/CP%2F1', 400, 'badIdentity'],
    ['/ocpp/CP%3A1', 400, 'badIdentity'],
    ['/ocpp/CP%ZZ', 400, 'badIdentity'],
    ['/ocpp/CP%', 400, 'badIdentity'],
    ['/ocpp/CP%C3%A9', 400, 'badIdentity'],
    ['/ocpp/CP#1', 400, 'badIdentity'],
    [`/ocpp/${'a'.repeat(49)}`, 400, 'badIdentity'],
    ['/ocpp/ac%20me/CP1', 400, 'badIdentity'],
    ['/ocpp/%ZZ/CP1', 400, 'badIdentity'],
    [`/ocpp/${'a'.repeat(65)}/CP1`, 400, 'badIdentity'],
  ];
  for (const [url, status, reason] of cases) {
    const result = path(url);
    assert.ok(isRefusal(result), `${url} refused`);
    assert.deepEqual([result.status, result.reason], [status, reason], url);
    assert.equal(typeof result.message, 'string');
  }
  // 64 characters of account are fine.
  assert.deepEqual(path(`/ocpp/${'a'.repeat(64)}/CP1`), { identity: 'CP1', account: 'a'.repeat(64) });
  assert.ok(isRefusal(path('/ocpp/CP1', '/ocpp', 2)));
});

test('selectSubprotocol: server preference among offered, default version, none', () => {
  const all = ['ocpp2.1', 'ocpp2.0.1', 'ocpp1.6'] as const;
  assert.deepEqual(selectSubprotocol('ocpp1.6, ocpp2.1', all, null), { version: 'ocpp2.1', header: 'ocpp2.1' });
  assert.deepEqual(selectSubprotocol('ocpp1.6,ocpp2.0.1', all, null), { version: 'ocpp2.0.1', header: 'ocpp2.0.1' });
  assert.deepEqual(selectSubprotocol('  ocpp1.6  ', all, null), { version: 'ocpp1.6', header: 'ocpp1.6' });
  assert.deepEqual(selectSubprotocol('ocpp2.1, ocpp1.6', ['ocpp1.6', 'ocpp2.1'], null), { version: 'ocpp1.6', header: 'ocpp1.6' });
  assert.equal(selectSubprotocol('ocpp1.5, ocpp2.0', all, null), null);
  assert.equal(selectSubprotocol('ocpp1.5', all, 'ocpp1.6'), null, 'an unsupported offer is not "no offer"');
  assert.equal(selectSubprotocol('ocpp2.0.1', ['ocpp1.6'], null), null);
  // Case-sensitive (RFC 6455 §4.1: subprotocol tokens are compared as-is).
  assert.equal(selectSubprotocol('OCPP1.6', all, null), null);
  assert.equal(selectSubprotocol('ocpp1.6x', all, null), null);
  // Nothing offered.
  assert.equal(selectSubprotocol('', all, null), null);
  assert.equal(selectSubprotocol(' , ,', all, null), null);
  assert.deepEqual(selectSubprotocol('', all, 'ocpp1.6'), { version: 'ocpp1.6', header: '' });
  assert.deepEqual(selectSubprotocol(' , ', all, 'ocpp2.0.1'), { version: 'ocpp2.0.1', header: '' });
});

test('parseBasicAuth: edge cases', () => {
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  assert.deepEqual(parseBasicAuth(`Basic ${b64('CP1:pw')}`), { user: 'CP1', password: 'pw' });
  assert.deepEqual(parseBasicAuth(`basic ${b64('CP1:pw')}`), { user: 'CP1', password: 'pw' }, 'scheme is case-insensitive');
  assert.deepEqual(parseBasicAuth(`BASIC   ${b64('CP1:pw')}  `), { user: 'CP1', password: 'pw' });
  assert.deepEqual(parseBasicAuth(`Basic ${b64('CP1:pw:with:colons')}`), { user: 'CP1', password: 'pw:with:colons' });
  assert.deepEqual(parseBasicAuth(`Basic ${b64('CP1:')}`), { user: 'CP1', password: '' });
  assert.deepEqual(parseBasicAuth(`Basic ${b64(':pw')}`), { user: '', password: 'pw' });
  assert.deepEqual(parseBasicAuth(`Basic ${b64('CP1:pässwörd')}`), { user: 'CP1', password: 'pässwörd' });
  assert.equal(parseBasicAuth(''), null);
  assert.equal(parseBasicAuth('Basic'), null);
  assert.equal(parseBasicAuth('Basic '), null);
  assert.equal(parseBasicAuth(`Bearer ${b64('CP1:pw')}`), null);
  assert.equal(parseBasicAuth(`Basic ${b64('CP1pw')}`), null, 'no colon');
  assert.equal(parseBasicAuth('Basic not*base64!'), null);
  assert.equal(parseBasicAuth(`Basic ${b64('CP1:pw')} extra`), null);
  assert.equal(parseBasicAuth(`Basic${b64('CP1:pw')}`), null, 'space required after the scheme');
});
