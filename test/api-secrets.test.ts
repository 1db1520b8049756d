/**
 * The real process (`serve`, every log line of the control plane and the shards on stdout at level trace):
 * credentials sent to the API and the live log (Authorization headers, passwords, tokens, the bearer
 * subprotocol), right or wrong, never appear in the log, through 401s, 429s, 404s, 400s and a reload;
 * `serve` warns at start and on HUP when api.auth.allowRemote opens the API without credentials.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { hashPassword } from '../src/config/password-hash.js';
import { spawnRouter } from './helpers/router-process.js';
import { waitFor } from './helpers/server.js';
import { httpFrom, logConnect } from './helpers/access.js';

function tempDir(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-secrets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const TOKEN = 'op-secret-token-7f3a9c1e5b';
const READ_TOKEN = 'read-secret-token-2d8e4f6a0c';
const WRONG_TOKEN = 'guessed-token-9b1d3f5h7j';
const PASSWORD = 'pw-Xq7-secret-Lm2';
const WRONG_PASSWORD = 'pw-guess-Zt5-Rk8';

test('credentials never appear in the log output (trace level), right or wrong, API and live log, across a reload', async (t) => {
  const dir = tempDir(t);
  const hash = await hashPassword(PASSWORD);
  const file = join(dir, 'router.json');
  const bearer = { api: { auth: { mode: 'bearer', tokens: [TOKEN], readTokens: [READ_TOKEN], failedLogins: { burst: 2, perMinute: 1, maxAddresses: 100 } } } };
  writeFileSync(file, JSON.stringify(bearer));
  const r = await spawnRouter(t, { config: file, dataDir: join(dir, 'data'), env: { LOG_LEVEL: 'trace' } });
  const port = r.port;
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const b64url = (s: string): string => Buffer.from(s).toString('base64url');
  const statuses: number[] = [];
  const send = async (method: string, path: string, headers: Record<string, string>, json?: unknown, localAddress?: string): Promise<void> => {
    statuses.push((await httpFrom(port, method, path, { headers, ...(json === undefined ? {} : { json }), ...(localAddress === undefined ? {} : { localAddress }) })).status);
  };
  const log = async (options: Parameters<typeof logConnect>[1]): Promise<void> => {
    const c = await logConnect(`ws://127.0.0.1:${port}/ws/log`, options);
    if ('ws' in c) {
      statuses.push(101);
      c.ws.close();
    } else statuses.push(c.status);
  };

  await send('GET', '/api/v1/stations', { Authorization: `Bearer ${TOKEN}` });
  await send('POST', '/api/v1/ChargePoint/NOPE/Reset', { Authorization: `Bearer ${TOKEN}` }, { type: 'Soft' });
  await send('POST', '/api/v1/ChargePoint/NOPE/Reset', { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, 'not an object');
  await send('POST', '/api/v1/commands', { Authorization: `Bearer ${READ_TOKEN}` }, { action: 'Reset', identities: ['NOPE'] });
  await send('GET', '/api/v1/no-such-route', { Authorization: `Bearer ${TOKEN}` });
  await send('GET', '/api/v1/stations', { Authorization: `Basic ${b64(`ops:${PASSWORD}`)}` });
  await log({ protocols: ['log', `bearer.${b64url(TOKEN)}`] });
  await log({ protocols: ['log', `bearer.${b64url(WRONG_TOKEN)}`], localAddress: '127.0.0.3' });
  for (let i = 0; i < 4; i++) await send('GET', '/api/v1/stations', { Authorization: `Bearer ${WRONG_TOKEN}` });
  await log({ headers: { Authorization: `Bearer ${TOKEN}` } });
  // Basic credentials in the URL of a station upgrade (the station endpoint, not the API).
  await new Promise<void>((resolve) => {
    const ws = new WebSocket(`ws://ops:${PASSWORD}@127.0.0.1:${port}/ocpp/CP-SECRET`, ['ocpp1.6']);
    ws.once('open', () => (ws.close(), resolve()));
    ws.once('error', () => resolve());
    ws.once('unexpected-response', () => resolve());
  });

  // Reload into basic mode (HUP): the same, with passwords.
  writeFileSync(file, JSON.stringify({ api: { auth: { mode: 'basic', users: { ops: hash } } } }));
  r.child.kill('SIGHUP');
  await waitFor(() => r.lines.some((l) => l.includes('SIGHUP: configuration reloaded')), 10_000, 'reloaded');
  await waitFor(async () => (await httpFrom(port, 'GET', '/api/v1/stations', { localAddress: '127.0.0.4', headers: { Authorization: `Basic ${b64(`ops:${PASSWORD}`)}` } })).status === 200, 10_000, 'basic mode active');
  await send('GET', '/api/v1/stations', { Authorization: `Basic ${b64(`ops:${WRONG_PASSWORD}`)}` }, undefined, '127.0.0.5');
  await send('GET', '/api/v1/stations', { Authorization: `Basic ${b64(`eve:${PASSWORD}`)}` }, undefined, '127.0.0.5');
  await send('GET', '/api/v1/stations', { Authorization: `Bearer ${TOKEN}` }, undefined, '127.0.0.5');
  await log({ headers: { Authorization: `Basic ${b64(`ops:${PASSWORD}`)}` }, localAddress: '127.0.0.6' });
  await log({ headers: { Authorization: `Basic ${b64(`ops:${WRONG_PASSWORD}`)}` }, localAddress: '127.0.0.6' });

  // What the requests got: the paths the log lines would come from were all taken.
  assert.deepEqual(statuses, [200, 404, 400, 403, 404, 401, 101, 401, 401, 429, 429, 429, 429, 401, 401, 401, 101, 401]);
  r.child.kill('SIGTERM');
  assert.equal(await r.exited, 0);
  const output = r.lines.join('\n');
  assert.ok(output.includes('"level":10') || output.includes('"level":20') || r.lines.length > 3, 'the log was captured');
  const secrets = [TOKEN, READ_TOKEN, WRONG_TOKEN, PASSWORD, WRONG_PASSWORD, hash, b64url(TOKEN), b64url(WRONG_TOKEN), b64(`ops:${PASSWORD}`), b64(`ops:${WRONG_PASSWORD}`), b64(`eve:${PASSWORD}`)];
  for (const secret of secrets) assert.ok(!output.includes(secret), `a credential (${secret.slice(0, 4)}…) is in the log output`);
  assert.ok(!/authorization/i.test(output), 'no Authorization header is logged');
});

test('serve warns at start and on each HUP reload while api.auth.allowRemote opens the API without credentials', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'router.json');
  writeFileSync(file, JSON.stringify({ api: { auth: { mode: 'off', allowRemote: true } } }));
  const r = await spawnRouter(t, { config: file, dataDir: join(dir, 'data') });
  const warnings = (): string[] => r.lines.filter((l) => l.includes('api.auth.allowRemote is true') && l.includes('"level":40'));
  await waitFor(() => warnings().length === 1, 10_000, 'warning at start');
  writeFileSync(file, JSON.stringify({ api: { auth: { mode: 'off' } } }));
  r.child.kill('SIGHUP');
  await waitFor(() => r.lines.some((l) => l.includes('loopback clients only') && l.includes('"level":30')), 10_000, 'a note on reload: loopback only');
  assert.equal(warnings().length, 1, 'no warning while loopback only');
  writeFileSync(file, JSON.stringify({ api: { auth: { mode: 'off', allowRemote: true } } }));
  r.child.kill('SIGHUP');
  await waitFor(() => warnings().length === 2, 10_000, 'warning on reload');
  // With authentication on, allowRemote is irrelevant: no warning.
  writeFileSync(file, JSON.stringify({ api: { auth: { mode: 'bearer', tokens: [TOKEN], allowRemote: true } } }));
  r.child.kill('SIGHUP');
  await waitFor(() => r.lines.filter((l) => l.includes('SIGHUP: configuration reloaded')).length === 3, 10_000, 'third reload');
  assert.equal(warnings().length, 2);
});
