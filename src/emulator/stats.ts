/** Counters of one fleet (one thread); summed over threads by the fleet runner. All plain numbers. */
export interface FleetStats {
  stations: number;
  connected: number;
  booted: number;
  connects: number;
  disconnects: number;
  connectFailures: number;
  callsSent: number;
  resultsReceived: number;
  callErrorsReceived: number;
  callTimeouts: number;
  commandsReceived: number;
  commandErrors: number;
  invalidOutgoing: number;
  framesIn: number;
  framesOut: number;
  replayed: number;
  droppedOffline: number;
  sessionsStarted: number;
  sessionsStopped: number;
}

export function emptyStats(): FleetStats {
  return {
    stations: 0,
    connected: 0,
    booted: 0,
    connects: 0,
    disconnects: 0,
    connectFailures: 0,
    callsSent: 0,
    resultsReceived: 0,
    callErrorsReceived: 0,
    callTimeouts: 0,
    commandsReceived: 0,
    commandErrors: 0,
    invalidOutgoing: 0,
    framesIn: 0,
    framesOut: 0,
    replayed: 0,
    droppedOffline: 0,
    sessionsStarted: 0,
    sessionsStopped: 0,
  };
}

export function addStats(into: FleetStats, from: FleetStats): FleetStats {
  for (const key of Object.keys(into) as Array<keyof FleetStats>) into[key] += from[key];
  return into;
}

/** Errors as the summary counts them. */
export function errorCount(s: FleetStats): number {
  return s.connectFailures + s.callErrorsReceived + s.callTimeouts + s.commandErrors + s.invalidOutgoing;
}

/** One summary line: `stations 19000 connected 19000 booted 19000 msg/s 63.2 errors 0 …`. */
export function formatSummary(s: FleetStats, prev: FleetStats | null, elapsedMs: number): string {
  const frames = s.framesIn + s.framesOut - (prev === null ? 0 : prev.framesIn + prev.framesOut);
  const rate = elapsedMs > 0 ? (frames * 1000) / elapsedMs : 0;
  return `emulator: stations ${s.stations} connected ${s.connected} booted ${s.booted} msg/s ${rate.toFixed(1)} calls ${s.callsSent} commands ${s.commandsReceived} sessions ${s.sessionsStarted}/${s.sessionsStopped} replayed ${s.replayed} reconnects ${s.disconnects} errors ${errorCount(s)}`;
}
