/**
 * The JetStream streams the router writes to: the events stream (`cluster.events.stream`, subjects
 * `<prefix>.events.>`) and the NATS backend's fallback stream (`nats.fallback.stream`, `<prefix>.fallback.>`).
 * Each is created when missing and updated to the configured limits when it exists (subjects the operator added
 * are kept). Every shard does this at each (re)connect: it is idempotent, and a node that starts while another
 * creates the stream sees "already in use" and reads it again.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { nanos } from '@nats-io/transport-node';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type StreamConfig } from '@nats-io/jetstream';

export interface StreamSpec {
  name: string;
  subjects: string[];
  maxAgeS: number;
  /** 0: no limit. */
  maxBytes: number;
  replicas: number;
}

const notFound = (error: unknown): boolean => error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;

/** Creates or updates the stream; rejects with the server's reason (wrong replicas for the cluster, limits …). */
export async function ensureStream(nc: NatsConnection, spec: StreamSpec, timeoutMs = 5000): Promise<'created' | 'updated' | 'unchanged'> {
  const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
  const wanted = { max_age: nanos(spec.maxAgeS * 1000), max_bytes: spec.maxBytes === 0 ? -1 : spec.maxBytes, num_replicas: spec.replicas };
  for (let attempt = 0; attempt < 2; attempt++) {
    let current: StreamConfig | null = null;
    try {
      current = (await jsm.streams.info(spec.name)).config;
    } catch (error) {
      if (!notFound(error)) throw error;
    }
    if (current === null) {
      try {
        await jsm.streams.add({ name: spec.name, subjects: spec.subjects, storage: 'file' as StreamConfig['storage'], ...wanted });
        return 'created';
      } catch (error) {
        // Another shard or node created it in between: read it again and update.
        if (attempt === 0 && /already in use/i.test((error as Error).message)) continue;
        throw error;
      }
    }
    const subjects = [...new Set([...(current.subjects ?? []), ...spec.subjects])];
    const same = subjects.length === (current.subjects ?? []).length && current.max_age === wanted.max_age && current.max_bytes === wanted.max_bytes && current.num_replicas === wanted.num_replicas;
    if (same) return 'unchanged';
    await jsm.streams.update(spec.name, { ...current, subjects, ...wanted });
    return 'updated';
  }
  throw new Error(`stream ${spec.name} could not be created`);
}
