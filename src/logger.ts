import { pino, destination, stdTimeFunctions, type Logger } from 'pino';
import type { Config } from './config/types.js';

/** pino to stdout; one per thread, tagged with what the thread is. */
export function createLogger(level: Config['log']['level'], bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...bindings }, timestamp: stdTimeFunctions.isoTime }, destination({ fd: 1, sync: false }));
}

export type { Logger };
