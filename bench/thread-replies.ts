/** Load-generator plumbing shared by bench/load-generator.ts and bench/fleet-generator.ts. */
import type { Worker } from 'node:worker_threads';

/**
 * Resolves with one message of type `type` from every worker (in arrival order), or rejects after
 * `timeoutMs`. `post`, when given, is sent to each worker after its listener is in place.
 */
export function replyFromEach<M extends { t: string }, T extends M['t']>(workers: Worker[], type: T, timeoutMs: number, what: string, post?: unknown): Promise<Extract<M, { t: T }>[]> {
  return new Promise((resolve, reject) => {
    const out: Extract<M, { t: T }>[] = [];
    const timer = setTimeout(() => reject(new Error(`${what} threads: no '${type}' after ${timeoutMs} ms`)), timeoutMs);
    for (const worker of workers) {
      const listener = (message: M): void => {
        if (message.t !== type) return;
        worker.off('message', listener);
        out.push(message as Extract<M, { t: T }>);
        if (out.length === workers.length) {
          clearTimeout(timer);
          resolve(out);
        }
      };
      worker.on('message', listener);
      if (post !== undefined) worker.postMessage(post);
    }
  });
}
