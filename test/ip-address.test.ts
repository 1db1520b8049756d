/**
 * The address classifier behind "loopback only while api.auth.mode is off" and the failed-login limiter's
 * keys (src/http/ip-address.ts), and the limiter itself (src/http/login-limiter.ts). The texts are those uWS's
 * getRemoteAddressAsText gives (measured: an IPv4 listener gives dotted IPv4; a dual-stack `::` listener gives
 * the long IPv6 form, IPv4 clients as ::ffff:a.b.c.d in long form), plus the compressed forms. The classifier
 * is also checked against Node's own BlockList on random addresses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
import { addressKey, clientKey, isLoopback, parseAddress } from '../src/http/ip-address.js';
import { LoginLimiter } from '../src/http/login-limiter.js';

test('loopback: 127.0.0.0/8, ::1 and IPv4-mapped 127.x in every text form uWS gives', () => {
  const loopback = [
    '127.0.0.1',
    '127.0.0.2',
    '127.255.255.254',
    '::1',
    '0:0:0:0:0:0:0:1',
    '0000:0000:0000:0000:0000:0000:0000:0001', // uWS, `::` listener, client ::1
    '0000:0000:0000:0000:0000:ffff:7f00:0001', // uWS, `::` listener, IPv4 client 127.0.0.1
    '0000:0000:0000:0000:0000:ffff:7f00:0002',
    '::ffff:127.0.0.1',
    '::FFFF:7F00:1',
    '[::1]',
  ];
  for (const a of loopback) assert.equal(isLoopback(a), true, a);
  const remote = [
    '192.0.2.2',
    '10.0.0.1',
    '128.0.0.1',
    '126.255.255.255',
    '0.0.0.0',
    '::',
    '::2',
    '1::1',
    '::1:0',
    'fd00:0000:0000:0000:0000:0000:0000:0002', // uWS, `::` listener, client fd00::2
    '0000:0000:0000:0000:0000:ffff:c000:0202', // uWS, `::` listener, IPv4 client 192.0.2.2
    '::ffff:10.0.0.1',
    '::127.0.0.1', // IPv4-compatible (deprecated), not mapped: not loopback
    '::ffff:0:127.0.0.1', // IPv4-translated: not loopback
    'fe80::1%eth0',
    '',
    'localhost',
    '127.0.0.1.1',
    '127.0.0',
    '127.0.0.256',
    '::1::',
    '1:2:3:4:5:6:7:8:9',
    '12345::1',
    ':::1',
  ];
  for (const a of remote) assert.equal(isLoopback(a), false, a);
});

test('parseAddress reads every RFC 4291 text form and rejects malformed ones', () => {
  assert.deepEqual(parseAddress('192.0.2.2'), { v4: 0xc0000202 });
  assert.deepEqual(parseAddress('::ffff:192.0.2.2'), { v4: 0xc0000202 });
  assert.deepEqual(parseAddress('0000:0000:0000:0000:0000:ffff:c000:0202'), { v4: 0xc0000202 });
  assert.deepEqual(parseAddress('fd00::2'), { v6: [0xfd00, 0, 0, 0, 0, 0, 0, 2] });
  assert.deepEqual(parseAddress('1:2:3:4:5:6:1.2.3.4'), { v6: [1, 2, 3, 4, 5, 6, 0x102, 0x304] });
  assert.deepEqual(parseAddress('1::'), { v6: [1, 0, 0, 0, 0, 0, 0, 0] });
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '01234::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::', '::1.2.3', 'g::1', '1:::2', '1::2::3', '1:2:3:4:5:6:7:1.2.3.4']) {
    assert.equal(parseAddress(bad), null, bad);
  }
});

/** An IPv6 address in one of the text forms: compressed by Node's URL parser, or the long form uWS prints. */
const v6Text = fc.tuple(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.boolean()).map(([groups, long]) => {
  const full = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
  return long ? full : new URL(`http://[${full}]/`).hostname.slice(1, -1);
});
/** Weighted towards the interesting prefixes (0::, ::ffff:, 127.x). */
const v6Interesting = fc.tuple(fc.constantFrom('0000:0000:0000:0000:0000:0000:0000:', '0000:0000:0000:0000:0000:ffff:', '0000:0000:0000:0000:0000:0000:'), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(
  ([prefix, a, b]) => {
    const tail = prefix.split(':').length === 8 ? b.toString(16) : `${a.toString(16)}:${b.toString(16)}`;
    return prefix + tail;
  },
);
const v4Text = fc.tuple(fc.constantFrom(127, 126, 128, 10, 192, 0, 255), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map((o) => o.join('.'));

test('isLoopback agrees with node:net BlockList (127.0.0.0/8, ::1/128, ::ffff:127.0.0.0/104) on random addresses', () => {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');
  fc.assert(
    fc.property(fc.oneof(v4Text, v6Text, v6Interesting), (text) => {
      const family = isIP(text) === 4 ? 'ipv4' : 'ipv6';
      assert.equal(isIP(text) !== 0, true, text);
      assert.equal(isLoopback(text), list.check(text, family), text);
      assert.notEqual(parseAddress(text), null, text);
    }),
    { numRuns: 5000 },
  );
});

test('clientKey: IPv4 as itself (mapped or not), IPv6 by its /64', () => {
  assert.equal(clientKey('192.0.2.2'), '192.0.2.2');
  assert.equal(clientKey('0000:0000:0000:0000:0000:ffff:c000:0202'), '192.0.2.2');
  assert.equal(clientKey('fd00:0000:0000:0000:0000:0000:0000:0002'), 'fd00:0:0:0::/64');
  assert.equal(clientKey('fd00::1:2:3:4'), clientKey('fd00::ffff:ffff:ffff:ffff'));
  assert.notEqual(clientKey('fd00:0:0:1::1'), clientKey('fd00:0:0:2::1'));
  assert.equal(clientKey('not an address'), 'not an address');
});

test('addressKey: one text per address, whatever form it was written or reported in', () => {
  assert.equal(addressKey('::1'), addressKey('0000:0000:0000:0000:0000:0000:0000:0001'));
  assert.equal(addressKey('127.0.0.1'), addressKey('0000:0000:0000:0000:0000:ffff:7f00:0001'));
  assert.equal(addressKey('127.0.0.1'), addressKey('::ffff:127.0.0.1'));
  assert.equal(addressKey('2001:DB8::1'), addressKey('2001:0db8:0000:0000:0000:0000:0000:0001'));
  assert.notEqual(addressKey('127.0.0.1'), addressKey('127.0.0.2'));
  assert.notEqual(addressKey('::1'), addressKey('::2'));
  assert.equal(addressKey('not an address'), 'not an address');
});

test('LoginLimiter: a burst of failures, then refused until a token refills; others unaffected; memory bounded', () => {
  assert.throws(() => new LoginLimiter({ burst: 0, perMinute: 1, maxAddresses: 1 }), /options.burst must be an integer >= 1/);
  const limiter = new LoginLimiter({ burst: 3, perMinute: 6, maxAddresses: 100 });
  const t0 = 1_000_000;
  for (let i = 0; i < 3; i++) {
    assert.equal(limiter.retryAfterS('a', t0), 0, `try ${i + 1}`);
    limiter.failed('a', t0);
  }
  // 6 per minute: one every 10 s.
  assert.equal(limiter.retryAfterS('a', t0), 10);
  assert.equal(limiter.retryAfterS('a', t0 + 4_000), 6);
  assert.equal(limiter.retryAfterS('b', t0), 0, 'another address is unaffected');
  assert.equal(limiter.retryAfterS('a', t0 + 10_000), 0, 'one try back after 10 s');
  limiter.failed('a', t0 + 10_000);
  assert.equal(limiter.retryAfterS('a', t0 + 10_000), 10);
  // Fully refilled buckets are forgotten.
  assert.equal(limiter.retryAfterS('a', t0 + 10_000 + 30_000), 0);
  assert.equal(limiter.size, 0);

  const small = new LoginLimiter({ burst: 1, perMinute: 1, maxAddresses: 50 });
  for (let i = 0; i < 10_000; i++) small.failed(`10.0.${i >> 8}.${i & 255}`, t0);
  assert.equal(small.size, 50, 'at most maxAddresses remembered');
  assert.ok(small.retryAfterS('10.0.39.15', t0) > 0, 'the most recent are kept');
  assert.equal(small.retryAfterS('10.0.0.0', t0), 0, 'the oldest were forgotten');
});
