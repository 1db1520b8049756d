/**
 * Shared settings of the property-based fuzz tests (test/fuzz-*.test.ts, fast-check). Inside `npm test` every
 * property is time-boxed and runs few cases; `npm run fuzz` runs the same properties much longer. docs/fuzzing.md.
 *
 *   FUZZ_RUNS=n      cases per property (default: the property's own small number)
 *   FUZZ_SECONDS=s   time box per property (default 0.5 s; with FUZZ_RUNS unset, `npm run fuzz` sets it)
 *   FUZZ_SEED=n      replay: the seed fast-check printed with a failure
 *   FUZZ_PATH=p      replay: the counterexample path printed with it (shrinks straight to the failing case)
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc, { type Parameters } from 'fast-check';

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

/** True under `npm run fuzz` (a long run): FUZZ_RUNS or FUZZ_SECONDS set. */
export const LONG_FUZZ = envNumber('FUZZ_RUNS') !== undefined || envNumber('FUZZ_SECONDS') !== undefined;

/**
 * fast-check parameters for one property: `runs` cases (FUZZ_RUNS overrides), stopped after the time box
 * (FUZZ_SECONDS, default `seconds`); FUZZ_SEED / FUZZ_PATH replay a failure.
 */
export function fuzzParams<T>(runs: number, seconds = 0.5): Parameters<T> {
  const fuzzRuns = envNumber('FUZZ_RUNS');
  const fuzzSeconds = envNumber('FUZZ_SECONDS');
  // A long run without an explicit count: as many cases as fit in the time box.
  const numRuns = fuzzRuns ?? (fuzzSeconds !== undefined ? 1_000_000_000 : runs);
  const params: Parameters<T> = {
    numRuns,
    // Interrupted by the time box is a pass with fewer cases, not a failure.
    plugins: [fc.interruptAfterTimeLimit(Math.round((fuzzSeconds ?? seconds) * 1000))],
  };
  const seed = envNumber('FUZZ_SEED');
  if (seed !== undefined) params.seed = seed;
  const path = process.env.FUZZ_PATH;
  if (path !== undefined && path !== '') params.path = path;
  return params;
}

/** Test options for node:test that leave room for the time box (and shrinking after a failure). */
export function fuzzTestOptions(seconds = 0.5): { timeout: number } {
  const box = envNumber('FUZZ_SECONDS') ?? seconds;
  return { timeout: Math.max(60_000, box * 1000 * 4 + 30_000) };
}

let gc: (() => void) | undefined;

/** Heap used after a full collection (gc exposed at run time: V8's flag, then a fresh context's `gc`). */
export function heapUsed(): number {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  return process.memoryUsage().heapUsed;
}
