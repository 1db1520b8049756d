/**
 * Starts a real router (real shard threads, real uWS sockets, port picked once) for a test, with a
 * temporary data folder and a silent logger. Stopped with `t.after(() => h.stop())`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/load.js';
import { RouterServer } from '../../src/control/router.js';
import { createApi } from '../../src/api/index.js';
import type { Config } from '../../src/config/types.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

export interface TestServer {
  server: RouterServer;
  config: Config;
  port: number;
  dataDir: string;
  url(identity: string, account?: string): string;
  stop(mode?: 'graceful' | 'fast'): Promise<void>;
}

export async function startTestServer(overrides: DeepPartial<Config> = {}, options: { dataDir?: string; keepDataDir?: boolean; /** Install the REST API (default true). */ api?: boolean } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ocpp-router-test-')));
  const base: DeepPartial<Config> = { server: { listen: '127.0.0.1', port: 0, workers: 2, shutdownTimeoutMs: 2000 }, dataDir, log: { level: 'silent' } };
  const config = loadConfig({ env: {}, overrides: merge(base, overrides) });
  const server = await RouterServer.start({ config, logger: pino({ level: 'silent' }), testHooks: true, ...(options.api === false ? {} : { http: createApi }) });
  let stopped = false;
  return {
    server,
    config,
    port: server.port,
    dataDir,
    url: (identity, account) => `ws://127.0.0.1:${server.port}${config.ocpp.path}/${account === undefined ? '' : `${account}/`}${encodeURIComponent(identity)}`,
    async stop(mode = 'fast') {
      if (stopped) return;
      stopped = true;
      await server.stop(mode);
      if (!options.keepDataDir && options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function merge(a: object, b: object): object {
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    out[key] = value !== null && typeof value === 'object' && !Array.isArray(value) && prev !== null && typeof prev === 'object' && !Array.isArray(prev) ? merge(prev, value) : value;
  }
  return out;
}

/** A minimal station client over `ws`: sends frames, awaits answers by id, records everything. */
export class TestStation {
  readonly ws: WebSocket;
  readonly received: unknown[] = [];
  #waiters = new Map<string, (frame: unknown[]) => void>();
  #anyWaiters: Array<(frame: unknown) => void> = [];
  /** Handler for CALLs from the central system; returns the CALLRESULT payload. */
  onCall: ((action: string, payload: Record<string, unknown>, id: string) => Record<string, unknown> | null) | null = null;
  closed: Promise<{ code: number; reason: string }>;
  #seq = 0;

  constructor(url: string, protocols: string | string[] = ['ocpp1.6'], options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, protocols, options);
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (data) => {
      let frame: unknown;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        frame = data.toString();
      }
      this.received.push(frame);
      const waiters = this.#anyWaiters;
      this.#anyWaiters = [];
      for (const w of waiters) w(frame);
      if (Array.isArray(frame)) {
        if (frame[0] === 2 && this.onCall !== null) {
          const reply = this.onCall(frame[2] as string, frame[3] as Record<string, unknown>, frame[1] as string);
          if (reply !== null) this.ws.send(JSON.stringify([3, frame[1], reply]));
        }
        const waiter = this.#waiters.get(frame[1] as string);
        if (waiter !== undefined && frame[0] !== 2) {
          this.#waiters.delete(frame[1] as string);
          waiter(frame);
        }
      }
    });
  }

  static async connect(url: string, protocols: string | string[] = ['ocpp1.6'], options: WebSocket.ClientOptions = {}): Promise<TestStation> {
    const station = new TestStation(url, protocols, options);
    await new Promise<void>((resolve, reject) => {
      station.ws.once('open', () => resolve());
      station.ws.once('error', reject);
      station.ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode, headers: res.headers })));
    });
    return station;
  }

  /** Sends a CALL and resolves with the answer frame. */
  call(action: string, payload: Record<string, unknown>, id = `m${++this.#seq}`): Promise<unknown[]> {
    return this.sendRaw(JSON.stringify([2, id, action, payload]), id);
  }

  /** Sends raw text; resolves with the frame answering `id` (default "-1"). */
  sendRaw(text: string, id = '-1'): Promise<unknown[]> {
    const answer = new Promise<unknown[]>((resolve) => this.#waiters.set(id, resolve));
    this.ws.send(text);
    return answer;
  }

  /** Resolves with the next frame of any kind. */
  next(): Promise<unknown> {
    return new Promise((resolve) => this.#anyWaiters.push(resolve));
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}

/** Polls `check` until it returns a truthy value (bounded: no fixed sleeps, no endless loops). */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
