/**
 * Identities in NATS subjects and KV keys: every identity (hostile ones included) becomes one token that a subject
 * and a KV key accept, and comes back unchanged; the subjects of the cluster are built from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subjects, decodeToken, encodeToken } from '../src/cluster/subjects.js';

const HOSTILE = ['CP-001', 'cp_1', 'a.b', 'a..b', '*', '>', 'a.>', 'with space', 'tab\there', 'new\nline', '=3D', '=', '%2E', 'ünïcødé', '充电桩', '🚗⚡', 'a/b', '\u0000', '..', '.', 'x'.repeat(48), '+|@*-_='];
const TOKEN = /^[A-Za-z0-9_=-]+$/;
const KV_KEY = /^[-/_=.A-Za-z0-9]+$/;

test('every identity becomes one safe token and comes back unchanged', () => {
  for (const identity of HOSTILE) {
    const token = encodeToken(identity);
    assert.match(token, TOKEN, identity);
    assert.match(token, KV_KEY, identity);
    assert.equal(decodeToken(token), identity, JSON.stringify(identity));
  }
  assert.equal(encodeToken('CP-001'), 'CP-001', 'common identities stay readable');
  assert.equal(encodeToken('a.b *'), 'a=2Eb=20=2A');
  assert.equal(new Set(HOSTILE.map(encodeToken)).size, HOSTILE.length, 'no two identities share a token');
});

test('tokens that the encoder cannot have produced are refused', () => {
  for (const bad of ['a.b', 'a b', '=2', '=zz', '=2e', 'a*', '=41']) assert.equal(decodeToken(bad), null, bad);
});

test('subjects: commands parse back; events and inbound requests are tokenized', () => {
  const s = new Subjects('ocpp');
  for (const identity of HOSTILE) {
    const subject = s.command(identity, 'Reset');
    assert.equal(subject.split('.').length, 4);
    assert.deepEqual(s.parseCommand(subject), { identity, action: 'Reset' });
  }
  assert.equal(s.event('node-a', 'CP.1', 'MeterValues'), 'ocpp.events.node-a.CP=2E1.MeterValues');
  assert.equal(s.inbound('ocpp2.0.1', 'BootNotification'), 'ocpp.in.ocpp2=2E0=2E1.BootNotification');
  assert.equal(s.parseCommand('ocpp.cmd.a.b.c'), null);
  assert.equal(s.parseCommand('other.cmd.a.b'), null);
  assert.equal(new Subjects('acme.prod').node('n1', 'call'), 'acme.prod.node.n1.call');
});
