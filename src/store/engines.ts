/** Opens the engine the configuration names (the PostgreSQL driver is loaded only when it is used). */
import type { Config } from '../config/types.js';
import type { StoreEngine } from './engine.js';

export async function openEngine(config: Config): Promise<StoreEngine> {
  const s = config.store;
  let engine: StoreEngine;
  if (s.engine === 'postgres') {
    const { PostgresEngine } = await import('./postgres/engine.js');
    engine = new PostgresEngine({ url: s.postgres.url, poolSize: s.postgres.poolSize, connectTimeoutS: s.postgres.connectTimeoutS });
  } else {
    const { SqliteEngine } = await import('./sqlite/engine.js');
    engine = new SqliteEngine({ file: s.sqlite.file, synchronous: s.sqlite.synchronous });
  }
  await engine.open();
  return engine;
}
