/** Sampling interval of the event-loop delay monitors. */
export const LOOP_RESOLUTION_MS = 10;

/**
 * monitorEventLoopDelay records the whole interval between its timer's ticks, resolution included (an idle
 * loop reads ~10 ms at a 10 ms resolution); the delay is what exceeds the resolution.
 */
export function loopDelaySeconds(recordedNs: number): number {
  return Math.max(0, recordedNs / 1e9 - LOOP_RESOLUTION_MS / 1000);
}
