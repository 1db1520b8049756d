/**
 * The emulator over wss:// (--ca, --cert, --key with {identity}): generated stations at security profile 3 through
 * the mTLS front, each with its own certificate, and at profile 2 on the TLS listener with Basic auth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeCerts, makeClientCert, type CertFiles } from './helpers/certs.js';
import { startTestServer, waitFor } from './helpers/server.js';
import { parseEmulateArgs } from '../src/emulator/cli.js';
import { startFleet } from '../src/emulator/index.js';
import { packageRoot } from '../src/config/load.js';
import { hashPassword } from '../src/config/password-hash.js';

const LIMIT = { timeout: 60_000 };
const FAST = { statusStepMs: 20, rebootDelayMs: 100, reconnectMinMs: 100, reconnectMaxMs: 500, replayIntervalMs: 20 };

let certs: CertFiles;
test.before(async () => {
  certs = await makeCerts();
});
test.after(() => certs.remove());

test('emulated stations at profile 3 through the mTLS front, one client certificate each', LIMIT, async (t) => {
  const h = await startTestServer({
    tls: { enable: true, port: 0, certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.caCert, front: { enable: true, port: 0 } },
    security: { defaultProfile: 3 },
  } as never);
  t.after(() => h.stop());
  for (const id of ['TLS-1', 'TLS-2']) await makeClientCert(certs, id);
  const args = ['--stations', '2', '--prefix', 'TLS-', '--url', `wss://127.0.0.1:${h.server.ports.front}/ocpp`, '--ca', certs.caCert, '--cert', join(certs.dir, '{identity}.pem'), '--key', join(certs.dir, '{identity}.key')];
  const parsed = parseEmulateArgs(args, packageRoot());
  assert.deepEqual(parsed.fleet.stations.map((s) => s.identity), ['TLS-1', 'TLS-2']);
  const fleet = await startFleet({ ...parsed.fleet, threads: 0, summaryIntervalMs: 0, timings: FAST });
  t.after(() => fleet.stop());
  await waitFor(() => h.server.station('TLS-1')?.connected === true && h.server.station('TLS-2')?.connected === true, 15_000, 'both stations connected');
  // A missing certificate file is named at parse time.
  assert.throws(() => parseEmulateArgs([...args.slice(0, -4), '--cert', join(certs.dir, 'nope-{identity}.pem'), '--key', join(certs.dir, '{identity}.key')], packageRoot()), /--cert .*nope-TLS-1\.pem: ENOENT/);
});

test('emulated stations at profile 2 on the TLS listener with --ca and --password', LIMIT, async (t) => {
  const hash = await hashPassword('pw');
  const h = await startTestServer({
    tls: { enable: true, port: 0, certFile: certs.serverCert, keyFile: certs.serverKey },
    security: { defaultProfile: 2, basicAuth: { passwords: { 'P2-1': hash } } },
  } as never);
  t.after(() => h.stop());
  const parsed = parseEmulateArgs(['--stations', '1', '--prefix', 'P2-', '--url', `wss://127.0.0.1:${h.server.ports.tls}/ocpp`, '--ca', certs.caCert, '--password', 'pw'], packageRoot());
  const fleet = await startFleet({ ...parsed.fleet, threads: 0, summaryIntervalMs: 0, timings: FAST });
  t.after(() => fleet.stop());
  await waitFor(() => h.server.station('P2-1')?.connected === true, 15_000, 'P2-1 connected');
});
