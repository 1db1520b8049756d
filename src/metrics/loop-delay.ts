/**
 * Sampling interval of the event-loop delay monitors. Each tick wakes an idle thread (and uWS runs its loop
 * hooks): at 10 ms the monitors were most of an idle server's CPU; at 50 ms they cost a fifth of that. A stall
 * that delays a tick is still measured to the nanosecond; stalls shorter than the interval may fall between ticks.
 */
export const LOOP_RESOLUTION_MS = 50;

/**
 * Node's monitorEventLoopDelay records the whole interval between its timer's ticks, resolution included (an idle
 * loop reads ~50 ms at a 50 ms resolution); Bun's records only what exceeds it (an idle loop reads ~1 ms at 10 ms).
 */
const RECORDS_WHOLE_INTERVAL = typeof process.versions.bun !== 'string';

/** The delay: what exceeds the resolution. */
export function loopDelaySeconds(recordedNs: number): number {
  return Math.max(0, recordedNs / 1e9 - (RECORDS_WHOLE_INTERVAL ? LOOP_RESOLUTION_MS / 1000 : 0));
}
