import type { Config } from '../config/types.js';

/** `node 20.20.2` or `bun 1.4.5`: which runtime serves (the start log line). */
export { runtimeVersion } from '../transport/runtime.js';

/**
 * Where the router is in its life. Until `running` (at start, while a reload swaps the shard set, while stopping)
 * forwarded HTTP requests get 503 with Retry-After, except the health probes, which always answer.
 */
export type RouterPhase = 'starting' | 'running' | 'swapping' | 'stopping';

export const PHASE_MESSAGES: Record<Exclude<RouterPhase, 'running'>, string> = {
  starting: 'the router is starting; retry shortly',
  swapping: 'the router is restarting its listeners (configuration reload); retry shortly',
  stopping: 'the router is shutting down',
};

/** Settings the running shards cannot take: a change starts a new shard set. */
export const LISTENER_SETTINGS: ReadonlyArray<[name: string, get: (c: Config) => unknown]> = [
  ['server.listen', (c) => c.server.listen],
  ['server.port', (c) => c.server.port],
  ['server.plain', (c) => c.server.plain],
  ['tls.enable', (c) => c.tls.enable],
  ['tls.port', (c) => c.tls.port],
  ['server.workers', (c) => c.server.workers],
  ['ocpp.path', (c) => c.ocpp.path],
  ['ocpp.maxFrameBytes', (c) => c.ocpp.maxFrameBytes],
  ['ocpp.pingIntervalS', (c) => c.ocpp.pingIntervalS],
];


/** `0.0.0.0:9220 (ws, http) and 0.0.0.0:9221 (wss, https)` for the start log line. */
export function listeningOn(config: Config, port: number, tlsPort: number): string {
  const parts: string[] = [];
  if (config.server.plain) parts.push(`${config.server.listen}:${port} (ws, http)`);
  if (config.tls.enable) parts.push(`${config.server.listen}:${tlsPort} (wss, https)`);
  return parts.join(' and ');
}
