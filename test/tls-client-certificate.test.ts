/**
 * The client certificate a TLS front passes in a header (src/shard/client-certificate.ts): every accepted encoding,
 * garbage, and the checks (dates, CA, subject field) with certificates made by the openssl CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCerts, type CertFiles } from './helpers/certs.js';
import { ClientCertificates, decodeCertificateHeader, subjectField } from '../src/shard/client-certificate.js';
import { StationSecurity } from '../src/shard/station-security.js';
import { loadConfig } from '../src/config/load.js';

let certs: CertFiles;
test.before(async () => {
  certs = await makeCerts();
});
test.after(() => certs.remove());

test('header encodings: nginx escaped PEM, Envoy XFCC, PEM with spaces, base64 DER; garbage gives null', () => {
  const pem = readFileSync(certs.client('good').cert, 'utf8');
  const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const forms = [
    encodeURIComponent(pem),
    `By=spiffe://x;Hash=abc;Cert="${encodeURIComponent(pem)}";Subject="CN=CP-GOOD"`,
    pem.replace(/\n/g, ' '),
    pem.replace(/\n/g, '\t'),
    body,
  ];
  for (const form of forms) assert.equal(decodeCertificateHeader(form)?.subject, 'CN=CP-GOOD', form.slice(0, 40));
  for (const bad of ['', '   ', '%E0%A4%A', 'not base64 !', Buffer.from('hello').toString('base64'), '-----BEGIN CERTIFICATE-----AAAA-----END CERTIFICATE-----', 'Cert=""']) {
    assert.equal(decodeCertificateHeader(bad), null, bad);
  }
});

test('subjectField reads one field of a multi-field subject', () => {
  assert.equal(subjectField('C=DE\nO=Acme\nCN=CP-1', 'CN'), 'CP-1');
  assert.equal(subjectField('C=DE\nO=Acme', 'CN'), null);
  assert.equal(subjectField('serialNumber=42\nCN=x', 'serialNumber'), '42');
});

test('checks: validity dates, issuing CA, subject = identity; an unreadable CA file refuses everything', () => {
  const problems: string[] = [];
  const checker = new ClientCertificates(certs.caCert, 'CN', (m) => problems.push(m));
  const header = (name: string): string => encodeURIComponent(readFileSync(certs.client(name).cert, 'utf8'));
  assert.deepEqual(problems, []);
  const good = checker.check(header('good'), 'CP-GOOD');
  assert.equal(good.ok, true);
  const reason = (h: string, id: string, now?: number): string | undefined => {
    const r = checker.check(h, id, now);
    return r.ok ? undefined : r.reason;
  };
  assert.equal(reason('', 'CP-GOOD'), 'missing');
  assert.equal(reason('%%%', 'CP-GOOD'), 'malformed');
  assert.equal(reason(header('expired'), 'CP-EXPIRED'), 'expired');
  assert.equal(reason(header('good'), 'CP-GOOD', Date.parse('2019-06-01T00:00:00Z')), 'notYetValid');
  assert.equal(reason(header('otherCa'), 'CP-OTHER'), 'untrusted');
  assert.equal(reason(header('wrongCn'), 'CP-GOOD'), 'subject');
  // Without a CA file the proxy's verification is trusted: another CA passes, the subject is still checked.
  const noCa = new ClientCertificates(null, 'CN', () => {});
  assert.equal(noCa.check(header('otherCa'), 'CP-OTHER').ok, true);
  assert.equal(noCa.check(header('otherCa'), 'CP-GOOD').ok, false);
  // A CA file without certificates (or unreadable) refuses every certificate and says so.
  const empty = join(certs.dir, 'empty.pem');
  writeFileSync(empty, 'no certificate here\n');
  const said: string[] = [];
  const none = new ClientCertificates(empty, 'CN', (m) => said.push(m));
  assert.equal(none.check(header('good'), 'CP-GOOD').ok, false);
  assert.match(said[0] ?? '', /holds no certificate/);
  const missing: string[] = [];
  const gone = new ClientCertificates(join(certs.dir, 'missing.pem'), 'CN', (m) => missing.push(m));
  assert.equal(gone.check(header('good'), 'CP-GOOD').ok, false);
  assert.match(missing[0] ?? '', /cannot read tls.clientCaFile/);
});

test('a trusted proxy is recognised in the text form uWS reports on a dual-stack listener, not only as configured', () => {
  const config = loadConfig({ env: {}, overrides: { tls: { trustedProxies: ['127.0.0.1', '::1'], clientCertHeader: 'x-ssl-client-cert' }, security: { defaultProfile: 2 } } });
  const security = new StationSecurity(config, null, () => undefined);
  const info = (remoteAddress: string, forwardedProto = 'https') => ({ url: '/ocpp/CP-1', subprotocols: 'ocpp1.6', authorization: '', remoteAddress, secure: false, clientCert: '', front: '', frontCert: '', frontAddress: '', forwardedProto });
  for (const address of ['127.0.0.1', '0000:0000:0000:0000:0000:ffff:7f00:0001', '0000:0000:0000:0000:0000:0000:0000:0001']) {
    const d = security.decide('CP-1', info(address));
    assert.deepEqual([d.ok, d.arrival], [true, 'proxy'], address);
  }
  // Not trusted, or trusted but saying its client came in plain: the plain listener's profile-2 refusal.
  for (const d of [security.decide('CP-1', info('0000:0000:0000:0000:0000:ffff:7f00:0002')), security.decide('CP-1', info('127.0.0.1', 'http'))]) {
    assert.deepEqual([d.ok, d.arrival], [false, 'plain']);
  }
});
