/**
 * Delivery of claim requests to the issuer (the TSO's side): a NATS publish on `issuer.subject`, flushed so it left
 * this process; or an HTTP POST of the same JSON to `issuer.url` through undici, retried a few times with backoff
 * within one handling (a failure after them is transient: the request message is nak'ed and comes back later).
 */
import type { NatsConnection } from '@nats-io/transport-node';
// By path: under Bun a bare 'undici' is Bun's own partial copy (src/backends/webhook/http-client.ts).
import { request } from 'undici/index.js';
import type { FlexConfig } from '../config/types.js';
import { redactUrl } from '../http/redact-url.js';
import { TransientFailure, type ClaimRequestOut } from './messages.js';

const HTTP_ATTEMPTS = 3;
const HTTP_TIMEOUT_MS = 10_000;

export type IssuerDelivery = (out: ClaimRequestOut) => Promise<void>;

export function issuerDelivery(config: FlexConfig['issuer'], connection: () => NatsConnection | null): IssuerDelivery {
  if (config.deliver === 'nats') {
    const subject = config.subject;
    return async (out) => {
      const nc = connection();
      if (nc === null) throw new TransientFailure('nats', 'NATS is unreachable: the claim request cannot go to the issuer now');
      nc.publish(subject, JSON.stringify(out));
      try {
        await nc.flush();
      } catch (error) {
        throw new TransientFailure('nats', `NATS flush failed: ${(error as Error).message}`, { cause: error });
      }
    };
  }
  const url = config.url!;
  return async (out) => {
    let last = '';
    for (let attempt = 1; attempt <= HTTP_ATTEMPTS; attempt++) {
      try {
        const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(out), headersTimeout: HTTP_TIMEOUT_MS, bodyTimeout: HTTP_TIMEOUT_MS });
        await response.body.dump();
        if (response.statusCode >= 200 && response.statusCode < 300) return;
        last = `HTTP ${response.statusCode}`;
        // A 4xx other than 408/429 will not improve by retrying now, but the issuer may be fixed: still transient.
        if (response.statusCode < 500 && response.statusCode !== 408 && response.statusCode !== 429) break;
      } catch (error) {
        last = (error as Error).message;
      }
      if (attempt < HTTP_ATTEMPTS) await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
    throw new TransientFailure('issuer', `issuer ${redactUrl(url)} did not take the claim request: ${last}`);
  };
}
