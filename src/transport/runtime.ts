/**
 * Which JavaScript runtime runs this process, and the transport that goes with it. Under Bun the
 * uWebSockets.js package finds no binary for Bun's ABI and silently falls back to a JS shim that hangs on
 * wildcard routes, so it must never be imported there: each transport is loaded by a dynamic import behind
 * this choice, and nothing else in src/ imports either (src/transport/types.ts is all the shard sees).
 */
import type { StationServerFactory } from './types.js';

declare const Bun: unknown;

/** True under Bun (its global, and process.versions.bun, are absent under Node). */
export const isBun: boolean = typeof Bun !== 'undefined' || typeof process.versions.bun === 'string';

export type RuntimeName = 'node' | 'bun';
export const runtimeName: RuntimeName = isBun ? 'bun' : 'node';

/** e.g. `node 20.20.2` or `bun 1.4.5`, for logs and the bench reports. */
export function runtimeVersion(): string {
  return isBun ? `bun ${process.versions.bun}` : `node ${process.versions.node}`;
}

/** The station server of this runtime: Bun.serve under Bun, uWebSockets.js under Node. */
export async function loadTransport(): Promise<StationServerFactory> {
  if (isBun) return (await import('./bun-server.js')).createServer;
  return (await import('./uws-server.js')).createServer;
}

/** Why these settings cannot run on this runtime, or null: Bun.serve has no TLS cipher list (tls.ciphers). */
export function unsupportedSettings(tls: { enable: boolean; ciphers: string | null }): string | null {
  if (isBun && tls.enable && tls.ciphers !== null) return 'tls.ciphers is not supported under Bun (Bun.serve has no cipher list): unset it, or run on Node';
  return null;
}
