/**
 * The shard's keeper of what stations send (src/protocol/ocpp-j/session-context.ts CallKeeper): derives the
 * store's records from a CALL and its answer, hands them to the store thread, and lets the session send the
 * CALLRESULT only once they are committed (or spooled). What the sessions keep within `batchDelayMs` (a couple of
 * milliseconds: at a steady trickle every CALL would otherwise cost a message to the store thread and its answer
 * back) goes to the store thread in one message; the store thread's group commit does the rest.
 */
import type { CallKeeper, ObservedSession } from '../protocol/ocpp-j/session-context.js';
import type { StoreClient } from '../store/client.js';
import type { StoreRecord } from '../store/records.js';
import { deriveRecords, isKept } from '../store/derive.js';

interface Waiting {
  records: StoreRecord[];
  done(kept: boolean): void;
}

export class StoreKeeper implements CallKeeper {
  #client: StoreClient;
  #journal: (action: string) => boolean;
  #waiting: Waiting[] = [];
  #scheduled = false;
  #onFailure: (error: unknown, records: number) => void;

  #batchDelayMs: () => number;

  constructor(client: StoreClient, options: { journal(action: string): boolean; batchDelayMs?(): number; onFailure(error: unknown, records: number): void }) {
    this.#batchDelayMs = options.batchDelayMs ?? (() => 0);
    this.#client = client;
    this.#journal = options.journal;
    this.#onFailure = options.onFailure;
  }

  keep(session: ObservedSession, uniqueId: string, action: string, request: Record<string, unknown>, reply: Record<string, unknown>): Promise<boolean> | null {
    if (!isKept(action)) return null;
    const records = deriveRecords(session.identity, uniqueId, action, request, reply, Date.now(), this.#journal(action));
    if (records.length === 0) return null;
    return new Promise<boolean>((resolve) => {
      this.#waiting.push({ records, done: resolve });
      if (this.#scheduled) return;
      this.#scheduled = true;
      const delay = this.#batchDelayMs();
      if (delay > 0) setTimeout(() => this.#flush(), delay);
      else setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#waiting;
    this.#waiting = [];
    const records = batch.length === 1 ? batch[0]!.records : batch.flatMap((w) => w.records);
    this.#client.write(records).then(
      () => {
        for (const w of batch) w.done(true);
      },
      (error: unknown) => {
        this.#onFailure(error, records.length);
        for (const w of batch) w.done(false);
      },
    );
  }
}
