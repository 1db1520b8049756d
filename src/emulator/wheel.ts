/**
 * One timer for thousands of stations: a hashed wheel of `tickMs` slots. A station asks to be woken at a time
 * (`schedule`); a re-schedule leaves the old entry in place and it is skipped when its slot comes (the station
 * remembers only its current slot), so scheduling is an array push, never a search. No per-station timers.
 */
export interface WheelClient {
  /** The slot this client is currently scheduled in (-1: none); owned by the wheel. */
  wheelSlot: number;
  wake(nowMs: number): void;
}

export class TimerWheel {
  readonly tickMs: number;
  #slots = new Map<number, WheelClient[]>();
  #lastSlot: number;
  #timer: NodeJS.Timeout;
  #now: () => number;

  constructor(options: { tickMs?: number; now?: () => number } = {}) {
    this.tickMs = options.tickMs ?? 50;
    this.#now = options.now ?? Date.now;
    this.#lastSlot = Math.floor(this.#now() / this.tickMs);
    this.#timer = setInterval(() => this.run(), this.tickMs);
  }

  /** Wake `client` at `atMs` (or at the next tick if that is in the past). */
  schedule(client: WheelClient, atMs: number): void {
    let slot = Math.floor(atMs / this.tickMs);
    if (slot <= this.#lastSlot) slot = this.#lastSlot + 1;
    if (client.wheelSlot === slot) return;
    client.wheelSlot = slot;
    const list = this.#slots.get(slot);
    if (list === undefined) this.#slots.set(slot, [client]);
    else list.push(client);
  }

  cancel(client: WheelClient): void {
    client.wheelSlot = -1;
  }

  /** Processes every slot up to now (called by the interval; tests may call it). */
  run(): void {
    const now = this.#now();
    const target = Math.floor(now / this.tickMs);
    while (this.#lastSlot < target) {
      const slot = ++this.#lastSlot;
      const list = this.#slots.get(slot);
      if (list === undefined) continue;
      this.#slots.delete(slot);
      for (const client of list) {
        if (client.wheelSlot !== slot) continue;
        client.wheelSlot = -1;
        try {
          client.wake(now);
        } catch (error) {
          process.emitWarning(`emulator: station wake failed: ${(error as Error).stack ?? String(error)}`);
        }
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#slots.clear();
  }
}
