/**
 * Reading what the router put on JetStream, for tests: every message of a stream in stream order (subject,
 * Nats-Msg-Id, JSON body), through a real client connection of the test's own.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { waitFor } from './server.js';

export interface StoredEvent {
  seq: number;
  subject: string;
  msgId: string | null;
  body: Record<string, unknown>;
}

export interface StreamReader {
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** Every message of `stream`, in stream order (none when the stream does not exist yet). */
  read(stream: string): Promise<StoredEvent[]>;
  /** Waits until `stream` holds at least `count` messages (matching `filter`), then returns them all. */
  waitFor(stream: string, count: number, filter?: (e: StoredEvent) => boolean, timeoutMs?: number): Promise<StoredEvent[]>;
}

export async function streamReader(t: { after(fn: () => unknown): void }, url: string): Promise<StreamReader> {
  const nc = await connect({ servers: url, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.after(() => nc.close());
  // Short API timeouts: a request sent while the test's NATS restarts is lost, and the poll asks again.
  const jsm = await jetstreamManager(nc, { timeout: 500 });
  const read = async (stream: string): Promise<StoredEvent[]> => {
    let state: { first_seq: number; last_seq: number; messages: number };
    try {
      state = (await jsm.streams.info(stream)).state;
    } catch {
      return [];
    }
    const out: StoredEvent[] = [];
    if (state.messages === 0) return out;
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (m === null) continue;
      out.push({ seq: m.seq, subject: m.subject, msgId: m.header?.get('Nats-Msg-Id') ?? null, body: m.json<Record<string, unknown>>() });
    }
    return out;
  };
  return {
    nc,
    jsm,
    read,
    waitFor: async (stream, count, filter = () => true, timeoutMs = 15_000) => {
      let last: StoredEvent[] = [];
      try {
        return await waitFor(async () => {
          last = (await read(stream)).filter(filter);
          return last.length >= count ? last : null;
        }, timeoutMs, `${count} messages in ${stream}`);
      } catch (error) {
        throw new Error(`${(error as Error).message}; got ${last.length}: ${last.map((e) => e.subject).join(', ')}`);
      }
    },
  };
}
