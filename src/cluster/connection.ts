/**
 * One thread's connection to NATS (the official client). It never blocks start: the router serves its own stations
 * while NATS is away, so the link connects in the background, reconnects forever with exponential backoff and
 * jitter, and tells its users when it is up (first connect and every reconnect: re-register) and down. Credentials:
 * user/password, token, nkey seed file, creds file; TLS with a CA, client certificate and key.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { NatsConnectionConfig } from '../config/types.js';
import { backoffMs } from '../protocol/backoff.js';
import { redactUrl } from '../http/redact-url.js';

export interface LinkLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** The client's options for `config` (exported for tests: what a config turns into). */
export function connectionOptions(config: NatsConnectionConfig, name: string): NodeConnectionOptions {
  const options: NodeConnectionOptions = {
    servers: config.servers,
    name,
    timeout: config.connectTimeoutMs,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: config.reconnectWaitMs,
    pingInterval: 10_000,
    maxPingOut: 3,
    // No Error built per request for async stack traces: requests are on the frame path of the NATS backend.
    noAsyncTraces: true,
  };
  if (config.user !== null) Object.assign(options, { user: config.user, pass: config.password ?? '' });
  if (config.token !== null) options.token = config.token;
  if (config.credsFile !== null) {
    const file = config.credsFile;
    options.authenticator = credsAuthenticator(() => readFileSync(file));
  } else if (config.nkeySeedFile !== null) {
    const file = config.nkeySeedFile;
    options.authenticator = nkeyAuthenticator(() => new TextEncoder().encode(readFileSync(file, 'utf8').trim()));
  }
  const tls = config.tls;
  if (tls.enable || tls.caFile !== null || tls.certFile !== null || config.servers.some((s) => s.startsWith('tls://'))) {
    options.tls = {
      ...(tls.caFile !== null ? { caFile: tls.caFile } : {}),
      ...(tls.certFile !== null ? { certFile: tls.certFile } : {}),
      ...(tls.keyFile !== null ? { keyFile: tls.keyFile } : {}),
    };
  }
  return options;
}

export class NatsLink {
  #config: NatsConnectionConfig;
  #name: string;
  #log: LinkLog;
  #nc: NatsConnection | null = null;
  #up = false;
  #closed = false;
  #failures = 0;
  #onUp: Array<(nc: NatsConnection) => void> = [];
  #onDown: Array<() => void> = [];
  #first: Promise<NatsConnection>;
  #resolveFirst!: (nc: NatsConnection) => void;
  #lastError: string | null = null;
  #retryFirstConnectHere: boolean;

  /**
   * `retryFirstConnectHere`: the link's own loop retries a failed first connect (instead of the client waiting in
   * connect()), so close() ends a link that never connected and leaves nothing running (flex/service.ts).
   */
  constructor(config: NatsConnectionConfig, name: string, log: LinkLog, options: { retryFirstConnectHere?: boolean } = {}) {
    this.#retryFirstConnectHere = options.retryFirstConnectHere ?? false;
    this.#config = config;
    this.#name = name;
    this.#log = log;
    this.#first = new Promise((resolve) => (this.#resolveFirst = resolve));
    void this.#connect();
  }

  /** Connected now. */
  get up(): boolean {
    return this.#up;
  }

  /** The connection, while up; null while down (callers answer "cluster unavailable" rather than wait). */
  get connection(): NatsConnection | null {
    return this.#up ? this.#nc : null;
  }

  /** Resolves at the first connect (never rejects; pending while NATS is away). */
  get firstConnect(): Promise<NatsConnection> {
    return this.#first;
  }

  get lastError(): string | null {
    return this.#lastError;
  }

  get server(): string | null {
    return this.#up ? (this.#nc?.getServer() ?? null) : null;
  }

  /** `fn` runs at every (re)connect, and at once when already up. */
  onUp(fn: (nc: NatsConnection) => void): void {
    this.#onUp.push(fn);
    if (this.#up && this.#nc !== null) fn(this.#nc);
  }

  onDown(fn: () => void): void {
    this.#onDown.push(fn);
  }

  async #connect(): Promise<void> {
    while (!this.#closed) {
      try {
        const options = connectionOptions(this.#config, this.#name);
        if (this.#retryFirstConnectHere) options.waitOnFirstConnect = false;
        options.reconnectDelayHandler = () => backoffMs(++this.#failures, { initialMs: this.#config.reconnectWaitMs, maxMs: this.#config.reconnectMaxWaitMs, jitter: [0.5, 1.5] });
        const nc = await connect(options);
        if (this.#closed) {
          await nc.close();
          return;
        }
        this.#nc = nc;
        this.#watch(nc);
        this.#setUp(true);
        this.#resolveFirst(nc);
        return;
      } catch (error) {
        // Bad credentials or options: connect() gives up; try again later (the operator may fix NATS, not us).
        this.#lastError = (error as Error).message;
        this.#log.error({ err: error, servers: this.#config.servers.map(redactUrl) }, 'cannot connect to NATS (will retry)');
        await new Promise((r) => setTimeout(r, backoffMs(++this.#failures, { initialMs: this.#config.reconnectWaitMs, maxMs: this.#config.reconnectMaxWaitMs, jitter: [0.5, 1.5] })).unref?.());
      }
    }
  }

  #watch(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') {
          this.#lastError = 'disconnected';
          this.#setUp(false);
        } else if (status.type === 'reconnect') {
          this.#setUp(true);
        } else if (status.type === 'error') {
          this.#lastError = String((status as { error?: unknown }).error ?? 'error');
        }
      }
    })();
    void nc.closed().then((error) => {
      this.#setUp(false);
      if (!this.#closed) {
        this.#log.error({ err: error }, 'the NATS connection closed; connecting again');
        this.#nc = null;
        void this.#connect();
      }
    });
  }

  #setUp(up: boolean): void {
    if (up === this.#up) return;
    this.#up = up;
    if (up) {
      this.#failures = 0;
      this.#lastError = null;
      this.#log.info({ server: this.#nc?.getServer() }, 'connected to NATS');
      for (const fn of this.#onUp) fn(this.#nc!);
    } else {
      this.#log.warn({}, 'NATS unreachable: serving this node\'s own stations; cross-node commands answer 503 until it is back');
      for (const fn of this.#onDown) fn();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const nc = this.#nc;
    this.#nc = null;
    this.#up = false;
    if (nc !== null) await nc.drain().catch(() => nc.close());
  }
}
