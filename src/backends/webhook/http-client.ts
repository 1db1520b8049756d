/**
 * POSTs bodies to one webhook URL over an undici Pool (keep-alive connections, no pipelining), with the
 * configured authorization, content type and optional HMAC-SHA256 signature. Used by every shard for live
 * requests and by the control plane for spool deliveries. Failures are classified for metrics:
 * connect (refused, reset, DNS), timeout, status (non-2xx), body (unparseable).
 */
import { createHmac } from 'node:crypto';
// The package by path: under Bun a bare 'undici' is Bun's own partial copy, whose Pool/Agent request() yields no
// statusCode (src/transport/runtime.ts); under Node both are the same module.
import { Pool } from 'undici/index.js';
import { Packr } from 'msgpackr';
import type { Config } from '../../config/types.js';
import type { WebhookFailureReason } from '../../metrics/webhook-metrics.js';

/** Header carrying `sha256=<hex>`: the HMAC-SHA256 of the exact body bytes with `webhook.signature.secret`. */
export const SIGNATURE_HEADER = 'x-ocpp-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const CONTENT_TYPES = { json: 'application/json', msgpack: 'application/msgpack' } as const;

/**
 * Plain MessagePack both ways, readable by any other implementation: no record extension (objects are maps,
 * maps decode to plain objects), undefined properties left out as JSON.stringify does, maps sized by their
 * key count (fixmap for small objects), 64-bit integers decoded as numbers (a BigInt would not serialize as JSON).
 * Strings are decoded by msgpackr-extract's native code when its prebuilt binary loads (isNativeAccelerationEnabled).
 */
// skipValues is in msgpackr 2's code and README but not yet in its Options type.
const msgpack = new Packr({ useRecords: false, mapsAsObjects: true, skipValues: [undefined], variableMapSize: true, int64AsType: 'number' } as ConstructorParameters<typeof Packr>[0]);

export class WebhookFailure extends Error {
  readonly reason: WebhookFailureReason;
  readonly status: number | undefined;
  constructor(reason: WebhookFailureReason, message: string, status?: number) {
    super(message);
    this.name = 'WebhookFailure';
    this.reason = reason;
    this.status = status;
  }
}

export interface WebhookClientOptions {
  url: string;
  authorization: Config['webhook']['authorization'];
  username: string;
  password: string;
  token: string;
  contentType: Config['webhook']['contentType'];
  timeoutMs: number;
  connections: number;
  keepAliveTimeoutMs: number;
  secret: string | null;
  /** Largest reply body read; a larger one is a `body` failure (a broken receiver must not exhaust the heap). */
  maxReplyBytes: number;
}

export function clientOptions(config: Config['webhook'], url: string): WebhookClientOptions {
  return {
    url,
    authorization: config.authorization,
    username: config.username,
    password: config.password,
    token: config.token,
    contentType: config.contentType,
    timeoutMs: config.timeoutMs,
    connections: config.pool.connections,
    keepAliveTimeoutMs: config.pool.keepAliveTimeoutMs,
    secret: config.signature.secret,
    maxReplyBytes: config.maxReplyBytes,
  };
}

/** Whether two option sets need a new Pool (anything but the per-request settings changed). */
function samePool(a: WebhookClientOptions, b: WebhookClientOptions): boolean {
  return new URL(a.url).origin === new URL(b.url).origin && a.connections === b.connections && a.keepAliveTimeoutMs === b.keepAliveTimeoutMs;
}

export class WebhookClient {
  #options: WebhookClientOptions;
  #pool: Pool;
  #path: string;
  #headers: Record<string, string>;

  constructor(options: WebhookClientOptions) {
    this.#options = options;
    this.#pool = WebhookClient.#newPool(options);
    this.#path = '/';
    this.#headers = {};
    this.#prepare();
  }

  static #newPool(o: WebhookClientOptions): Pool {
    return new Pool(new URL(o.url).origin, {
      connections: o.connections,
      pipelining: 1,
      keepAliveTimeout: o.keepAliveTimeoutMs,
      keepAliveMaxTimeout: Math.max(o.keepAliveTimeoutMs, 600_000),
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
      connect: { timeout: Math.min(o.timeoutMs, 10_000) },
    });
  }

  #prepare(): void {
    const o = this.#options;
    const url = new URL(o.url);
    this.#path = url.pathname + url.search;
    const headers: Record<string, string> = { 'content-type': CONTENT_TYPES[o.contentType], accept: `${CONTENT_TYPES[o.contentType]}, application/json;q=0.9` };
    if (o.authorization === 'Basic') headers.authorization = `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`;
    else if (o.authorization === 'Bearer') headers.authorization = `Bearer ${o.token}`;
    this.#headers = headers;
  }

  get url(): string {
    return this.#options.url;
  }

  /** Applies new settings; the Pool is replaced (the old one drains) only when the origin or its size changed. */
  configure(options: WebhookClientOptions): void {
    const old = this.#options;
    this.#options = options;
    this.#prepare();
    if (!samePool(old, options)) {
      const pool = this.#pool;
      this.#pool = WebhookClient.#newPool(options);
      void pool.close().catch(() => undefined);
    }
  }

  encode(value: unknown): Buffer {
    return this.#options.contentType === 'msgpack' ? msgpack.pack(value) : Buffer.from(JSON.stringify(value));
  }

  /**
   * POSTs `value`; resolves with the decoded reply body (undefined when empty), or rejects with a
   * WebhookFailure. `extraHeaders` carries the idempotency key and delivery headers.
   */
  async post(value: unknown, extraHeaders?: Record<string, string>): Promise<unknown> {
    const o = this.#options;
    const body = this.encode(value);
    const headers = extraHeaders === undefined ? { ...this.#headers } : { ...this.#headers, ...extraHeaders };
    if (o.secret !== null) headers[SIGNATURE_HEADER] = `sha256=${createHmac('sha256', o.secret).update(body).digest('hex')}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), o.timeoutMs);
    let status: number;
    let contentType: string;
    let raw: Buffer;
    try {
      const response = await this.#pool.request({ method: 'POST', path: this.#path, headers, body, signal: controller.signal });
      status = response.statusCode;
      const ct = response.headers['content-type'];
      contentType = (Array.isArray(ct) ? ct[0] : ct) ?? '';
      raw = await readBodyLimited(response.body, o.maxReplyBytes);
    } catch (error) {
      if (error instanceof WebhookFailure) throw error;
      throw classify(error, controller.signal.aborted, o.timeoutMs);
    } finally {
      clearTimeout(timer);
    }
    if (status < 200 || status > 299) throw new WebhookFailure('status', `webhook answered HTTP ${status}`, status);
    if (raw.length === 0) return undefined;
    try {
      if (contentType.toLowerCase().includes('msgpack')) return msgpack.unpack(raw);
      return JSON.parse(raw.toString('utf8'));
    } catch (error) {
      throw new WebhookFailure('body', `webhook reply is not ${contentType.includes('msgpack') ? 'MessagePack' : 'JSON'}: ${(error as Error).message}`, status);
    }
  }

  close(): Promise<void> {
    return this.#pool.close().catch(() => undefined);
  }
}

/** The reply body, refusing more than `max` bytes (the rest is not read: the connection is dropped). */
async function readBodyLimited(body: AsyncIterable<Buffer | Uint8Array> & { destroy?(error?: Error): unknown }, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy?.();
      throw new WebhookFailure('body', `webhook reply is larger than ${max} bytes (webhook.maxReplyBytes)`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function classify(error: unknown, aborted: boolean, timeoutMs: number): WebhookFailure {
  if (error instanceof WebhookFailure) return error;
  const code = (error as { code?: string })?.code ?? '';
  const name = (error as { name?: string })?.name ?? '';
  if (aborted || name === 'AbortError' || name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new WebhookFailure('timeout', `webhook did not answer within ${timeoutMs} ms`);
  }
  return new WebhookFailure('connect', `webhook unreachable: ${code || name || 'error'} ${(error as Error)?.message ?? ''}`.trim());
}
