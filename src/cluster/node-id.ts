/** A node's name in the cluster: `cluster.nodeId`, else the host name and the port (subject-safe characters). */
import { hostname } from 'node:os';
import type { Config } from '../config/types.js';

export function nodeIdOf(config: Config, port: number): string {
  return config.cluster.nodeId ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '-')}-${port}`;
}
