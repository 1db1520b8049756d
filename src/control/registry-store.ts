/**
 * The station registry written through to the store: every second the stations that changed (a connect, a
 * disconnect, a boot), every 10 s those whose connector statuses alone changed (each status is in status_history
 * at once; the row is the summary), every minute also those whose last-message time alone moved; one row per
 * station, so the cost of a change never grows with the fleet. At start the registry is loaded from the store, and a
 * `stations.json` of an earlier version is imported once (then renamed `.imported`; a file that cannot be read
 * is left where it is and reported, never replaced by an empty list).
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { StoreClient } from '../store/client.js';
import type { StoreWrite } from '../store/engine.js';
import type { StationRow } from '../store/records.js';
import { LEGACY_FILE, LEGACY_FORMAT, type StationRecord, type StationRegistry } from './station-registry.js';

const CHANGES_EVERY_MS = 1000;
const STATUS_EVERY_MS = 10_000;
const SEEN_EVERY_MS = 60_000;

export class RegistryStore {
  #registry: StationRegistry;
  #client: StoreClient;
  #logger: Logger;
  #timer: ReturnType<typeof setInterval> | null = null;
  #lastSeenFlush = Date.now();
  #lastStatusFlush = Date.now();
  #writing: Promise<unknown> = Promise.resolve();

  constructor(registry: StationRegistry, client: StoreClient, logger: Logger) {
    this.#registry = registry;
    this.#client = client;
    this.#logger = logger;
  }

  /** Loads the registry from the store (importing a legacy file first), then writes changes through. */
  async start(dataDir: string): Promise<void> {
    const rows = JSON.parse(await this.#client.query('stations', null)) as StationRow[];
    if (rows.length === 0) await this.#importLegacy(dataDir);
    else this.#registry.loadRows(rows);
    this.#timer = setInterval(() => void this.flush(false), CHANGES_EVERY_MS);
    this.#timer.unref();
  }

  async #importLegacy(dataDir: string): Promise<void> {
    const file = join(dataDir, LEGACY_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.#logger.error({ err: error, file }, 'cannot read the legacy station list; it is left as it is');
      return;
    }
    let stations: StationRecord[];
    try {
      const data = JSON.parse(text) as { format?: string; stations?: StationRecord[] };
      if (data.format !== LEGACY_FORMAT || !Array.isArray(data.stations)) throw new Error(`not a ${LEGACY_FORMAT} file`);
      stations = data.stations;
    } catch (error) {
      this.#logger.error({ err: error, file }, 'the legacy station list is unreadable; it is left as it is (nothing imported)');
      return;
    }
    const rows: StationRow[] = stations.map((s) => ({
      identity: s.identity,
      account: s.account ?? null,
      version: s.version,
      transport: s.transport ?? 'ws',
      callbackUrl: s.callbackUrl ?? null,
      connected: false,
      remoteAddress: s.remoteAddress ?? '',
      connectedAt: s.connectedAt ?? null,
      disconnectedAt: s.disconnectedAt ?? null,
      lastDisconnect: s.lastDisconnect ?? null,
      lastMessageAt: s.lastMessageAt ?? null,
      boot: s.boot ?? null,
      connectors: s.connectors ?? {},
    }));
    await this.#client.write(rows.map((row): StoreWrite => ({ k: 'station', row })));
    this.#registry.loadRows(rows);
    await rename(file, `${file}.imported`);
    this.#logger.info({ stations: rows.length, file }, 'station list of an earlier version imported into the store');
  }

  /** Writes what changed (one write at a time, in order). */
  flush(all: boolean): Promise<void> {
    const withSeen = all || Date.now() - this.#lastSeenFlush >= SEEN_EVERY_MS;
    if (withSeen) this.#lastSeenFlush = Date.now();
    const withStatus = withSeen || Date.now() - this.#lastStatusFlush >= STATUS_EVERY_MS;
    if (withStatus) this.#lastStatusFlush = Date.now();
    const { rows, removed } = this.#registry.takeChanges(withSeen, withStatus);
    if (rows.length === 0 && removed.length === 0) return this.#writing.then(() => undefined);
    const writes: StoreWrite[] = [...rows.map((row): StoreWrite => ({ k: 'station', row })), ...removed.map((identity): StoreWrite => ({ k: 'stationDeleted', identity }))];
    const done = this.#writing.then(() => this.#client.write(writes)).then(
      () => undefined,
      (error: unknown) => {
        this.#logger.error({ err: error, stations: writes.length }, 'cannot write station changes to the store (written again with the next flush)');
        this.#registry.markChanged(rows.map((r) => r.identity));
      },
    );
    this.#writing = done;
    return done;
  }

  /** Last write-through (at stop). */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.flush(true);
  }
}
