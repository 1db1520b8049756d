/**
 * Property-based fuzzing of the WebSocket handshake rules (src/protocol/ocpp-j/handshake.ts; docs/fuzzing.md):
 * whatever the URL, the subprotocol header or the Authorization header, the answer is an accepted identity that
 * satisfies the documented rules (src/protocol/identity.ts), or a refusal with an HTTP status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseStationPath, isRefusal, selectSubprotocol, parseBasicAuth } from '../src/protocol/ocpp-j/handshake.js';
import { OCPP_VERSIONS, type OcppVersion } from '../src/protocol/versions.js';
import { fuzzParams, fuzzTestOptions } from './helpers/fuzz.js';

/** The documented identity rule: 2.0.1 identifierString without ':' (src/protocol/identity.ts), no dot segments. */
const IDENTITY_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-_=+|@.';
function followsRule(identity: string, max: number): boolean {
  return identity.length >= 1 && identity.length <= max && [...identity].every((c) => IDENTITY_CHARS.includes(c)) && identity !== '.' && identity !== '..';
}

const PREFIXES = ['/ocpp', '/ocpp/', '/', '/a/b', '/Ocpp'];

/** Percent-encodes some characters of `s` (any, not only those that need it), upper or lower case hex. */
function percentSome(s: string, picks: boolean[]): string {
  let out = '';
  let i = 0;
  for (const ch of s) {
    const pick = picks[i++ % Math.max(1, picks.length)] === true;
    out += pick ? [...Buffer.from(ch, 'utf8')].map((b) => '%' + b.toString(16).padStart(2, '0')[i % 2 === 0 ? 'toUpperCase' : 'toLowerCase']()).join('') : ch;
  }
  return out;
}

const segment = fc.oneof(
  fc.string({ unit: fc.constantFrom(...IDENTITY_CHARS.split('')), minLength: 0, maxLength: 60 }),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('.', '..', '%', '%2', '%zz', '%2F', '%2e%2E', '%00', '%C0%AF', '%ED%A0%80', '%F0%9F%98%80', '..%2F..', '?', '#', ' ', '%20'),
);

const urlArb = fc.oneof(
  fc.tuple(fc.constantFrom(...PREFIXES), fc.array(segment, { maxLength: 4 }), fc.boolean()).map(([p, segs, slash]) => (p.endsWith('/') ? p : p + '/') + segs.join('/') + (slash ? '/' : '')),
  fc.string({ maxLength: 100 }),
  fc.webUrl({ withQueryParameters: true, withFragments: true }).map((u) => new URL(u).pathname + new URL(u).search),
);

test('parseStationPath: any URL is an identity that follows the rules, or a refusal with 400/404', fuzzTestOptions(), () => {
  fc.assert(
    fc.property(urlArb, fc.constantFrom(...PREFIXES), fc.integer({ min: 1, max: 64 }), (url, prefix, max) => {
      const result = parseStationPath(url, prefix, max);
      if (isRefusal(result)) {
        assert.ok(result.status === 400 || result.status === 404, String(result.status));
        assert.ok(result.reason === 'badPath' || result.reason === 'badIdentity');
        assert.equal(typeof result.message, 'string');
        return;
      }
      assert.ok(followsRule(result.identity, max), `identity ${JSON.stringify(result.identity)} (max ${max}) from ${JSON.stringify(url)}`);
      if (result.account !== null) assert.ok(followsRule(result.account, 64), `account ${JSON.stringify(result.account)}`);
      // The identity is the last segment, decoded.
      const base = prefix.endsWith('/') ? prefix : prefix + '/';
      assert.ok(url.startsWith(base));
      const segs = url.slice(base.length).replace(/\/$/, '').split('/');
      assert.equal(decodeURIComponent(segs[segs.length - 1]!), result.identity);
    }),
    fuzzParams(1000),
  );
});

test('parseStationPath: every identity the rules allow is accepted, however it is percent-encoded', fuzzTestOptions(), () => {
  const identity = fc.string({ unit: fc.constantFrom(...IDENTITY_CHARS.split('')), minLength: 1, maxLength: 48 }).filter((s) => s !== '.' && s !== '..');
  fc.assert(
    fc.property(identity, fc.option(identity, { nil: null }), fc.array(fc.boolean(), { maxLength: 8 }), (id, account, picks) => {
      const url = `/ocpp/${account === null ? '' : percentSome(account, picks) + '/'}${percentSome(id, picks)}`;
      const result = parseStationPath(url, '/ocpp', 48);
      if (account !== null && account.length > 64) return;
      assert.deepEqual(result, { identity: id, account }, url);
    }),
    fuzzParams(600),
  );
});

test('selectSubprotocol: any header gives a version both sides have (server preference), the default, or null', fuzzTestOptions(), () => {
  const token = fc.oneof(fc.constantFrom(...OCPP_VERSIONS, 'ocpp1.5', 'ocpp2.0', 'OCPP1.6', 'ocpp1.6 ', ' ocpp2.1', ''), fc.string({ maxLength: 12 }));
  const header = fc.oneof(fc.array(token, { maxLength: 6 }).map((t) => t.join(',')), fc.string({ maxLength: 80 }), fc.array(token, { maxLength: 4 }).map((t) => t.join(' , ')));
  const preference = fc.subarray([...OCPP_VERSIONS]).chain((v) => fc.shuffledSubarray(v, { minLength: v.length, maxLength: v.length }));
  fc.assert(
    fc.property(header, preference, fc.option(fc.constantFrom<OcppVersion>(...OCPP_VERSIONS), { nil: null }), (h, pref, def) => {
      const result = selectSubprotocol(h, pref, def);
      const offered = h.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (offered.length === 0) {
        assert.deepEqual(result, def === null ? null : { version: def, header: '' });
        return;
      }
      const both = pref.filter((v) => offered.includes(v));
      // OCPP-J 1.6 §3.1.2: exactly one of those offered; the server's preference decides.
      assert.deepEqual(result, both.length === 0 ? null : { version: both[0], header: both[0] });
    }),
    fuzzParams(1000),
  );
});

test('parseBasicAuth: any header is null or a user without ":" and a password; well-formed credentials round-trip', fuzzTestOptions(), () => {
  const header = fc.oneof(
    fc.string({ maxLength: 100 }),
    fc.tuple(fc.constantFrom('Basic ', 'basic ', 'BASIC\t', 'Basic', 'Bearer ', 'Basic  '), fc.oneof(fc.base64String({ maxLength: 60 }), fc.string({ maxLength: 40 })), fc.constantFrom('', ' ', '  \t', '=', 'x')).map((p) => p.join('')),
  );
  fc.assert(
    fc.property(header, (h) => {
      const result = parseBasicAuth(h);
      if (result === null) return;
      assert.equal(typeof result.user, 'string');
      assert.equal(typeof result.password, 'string');
      assert.ok(!result.user.includes(':'));
    }),
    fuzzParams(1000),
  );
  const text = fc.string({ unit: 'grapheme', maxLength: 30 });
  fc.assert(
    fc.property(text.filter((u) => !u.includes(':')), text, fc.constantFrom('Basic ', 'basic ', 'BASIC   '), (user, password, scheme) => {
      const h = scheme + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
      assert.deepEqual(parseBasicAuth(h), { user, password });
    }),
    fuzzParams(600),
  );
});
