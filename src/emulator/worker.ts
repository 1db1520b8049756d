/** Worker-thread entry: runs one Fleet with the specs it was given and reports its stats every second. */
import { parentPort, workerData } from 'node:worker_threads';
import { Fleet, type FleetOptions } from './fleet.js';

export type WorkerIn = { t: 'stop' };
export type WorkerOut =
  | { t: 'stats'; stats: Fleet['stats'] }
  | { t: 'stopped'; stats: Fleet['stats'] }
  | { t: 'warn'; message: string }
  /** The stations are starting; the thread's ChargePointService address (OCPP-S), else null. */
  | { t: 'ready'; chargePointService: string | null }
  /** The fleet could not start (the ChargePointService cannot listen). */
  | { t: 'error'; message: string };

const port = parentPort!;
const options = workerData as Omit<FleetOptions, 'onEvent' | 'warn'>;
let warned = 0;
const fleet = new Fleet({
  ...options,
  warn: (message) => {
    // Bounded: a broken central system must not flood the main thread.
    if (++warned <= 100) port.postMessage({ t: 'warn', message } satisfies WorkerOut);
  },
}).start();
fleet.ready().then(
  () => port.postMessage({ t: 'ready', chargePointService: fleet.chargePointService } satisfies WorkerOut),
  (error: unknown) => port.postMessage({ t: 'error', message: (error as Error).message } satisfies WorkerOut),
);
// Counters every second, but only when one changed (an idle fleet answering pings does not wake the main thread).
let posted = '';
const timer = setInterval(() => {
  const key = Object.values(fleet.stats).join(',');
  if (key === posted) return;
  posted = key;
  port.postMessage({ t: 'stats', stats: fleet.stats } satisfies WorkerOut);
}, 1000);
port.on('message', (m: WorkerIn) => {
  if (m.t === 'stop') {
    clearInterval(timer);
    void fleet.stop().then(() => {
      port.postMessage({ t: 'stopped', stats: fleet.stats } satisfies WorkerOut);
      port.close();
    });
  }
});
