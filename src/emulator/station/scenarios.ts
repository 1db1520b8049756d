/**
 * What a station does on its own (the fleet's Scenario): `idle` nothing beyond boot, statuses and heartbeats;
 * `random` arrivals per connector with exponential inter-arrival times and durations; `schedule` sessions at
 * fixed offsets from the station's first accepted boot, repeated every `everyS` when given. Plain functions of
 * the station: random arrivals live on the connectors, a schedule's position in a small cursor that exists
 * only for schedule scenarios.
 */
import type { Scenario } from '../types.js';
import type { StationContext } from './context.js';
import type { Connector, Session, SessionOptions } from './connector.js';

/** Where a station is in its schedule. */
export interface ScheduleCursor {
  /** The first accepted boot (offsets count from here). */
  base: number;
  /** Index of the next session (over all cycles). */
  next: number;
}

/** What a scenario uses of a station. */
export interface ScenarioStation {
  readonly ctx: StationContext;
  readonly connectors: readonly Connector[];
  findConnector(id: number): Connector | undefined;
  freeConnector(idTag?: string): Connector | undefined;
  startSession(c: Connector, idTag: string, options?: SessionOptions): Session;
}

type Schedule = Extract<Scenario, { kind: 'schedule' }>;

/** Exponential random variable with the given mean. */
export function expRandom(mean: number): number {
  return -Math.log(1 - Math.random()) * mean;
}

/** The boot is accepted: random arrivals are planned; a schedule starts at the first boot (returns its cursor). */
export function scenarioBooted(st: ScenarioStation, cursor: ScheduleCursor | null, now: number): ScheduleCursor | null {
  const sc = st.ctx.scenario;
  if (sc.kind === 'random') for (const c of st.connectors) planArrival(st, c, now);
  return sc.kind === 'schedule' && cursor === null ? { base: now, next: 0 } : cursor;
}

/** Random scenario: the next arrival on an idle connector (none while one is planned or a session runs). */
export function planArrival(st: ScenarioStation, c: Connector, now: number): void {
  const sc = st.ctx.scenario;
  if (sc.kind !== 'random' || c.session !== null || c.nextArrivalAt !== 0) return;
  c.nextArrivalAt = now + expRandom(sc.meanArrivalS) * 1000;
}

/** Starts the sessions due at `now` (the station is booted). */
export function runScenario(st: ScenarioStation, cursor: ScheduleCursor | null, now: number): void {
  const sc = st.ctx.scenario;
  if (sc.kind === 'random') {
    for (const c of st.connectors) {
      if (c.nextArrivalAt !== 0 && now >= c.nextArrivalAt) {
        c.nextArrivalAt = 0;
        if (c.session === null && c.status === 'Available') {
          const tags = sc.idTags ?? ['EMU-TAG'];
          st.startSession(c, tags[Math.floor(Math.random() * tags.length)]!, { durationS: Math.max(1, expRandom(sc.meanDurationS)) });
        } else planArrival(st, c, now);
      }
    }
  } else if (sc.kind === 'schedule' && cursor !== null) {
    for (;;) {
      const at = scheduleDue(sc, cursor);
      if (at === 0 || now < at) break;
      const item = sc.sessions[cursor.next % sc.sessions.length]!;
      cursor.next++;
      const c = item.connectorId === undefined ? st.freeConnector(item.idTag) : st.findConnector(item.connectorId);
      if (c !== undefined && c.session === null && (c.status === 'Available' || c.status === 'Reserved')) st.startSession(c, item.idTag ?? 'EMU-TAG', { durationS: item.durationS });
    }
  }
}

/** When the scenario next has something to start (Infinity: nothing planned). */
export function scenarioDue(st: ScenarioStation, cursor: ScheduleCursor | null): number {
  const sc = st.ctx.scenario;
  let due = Infinity;
  if (sc.kind === 'random') {
    for (const c of st.connectors) if (c.nextArrivalAt !== 0) due = Math.min(due, c.nextArrivalAt);
  } else if (sc.kind === 'schedule' && cursor !== null) {
    const at = scheduleDue(sc, cursor);
    if (at !== 0) due = at;
  }
  return due;
}

/** The start of the next scheduled session (0: none left). */
function scheduleDue(sc: Schedule, cursor: ScheduleCursor): number {
  if (sc.sessions.length === 0) return 0;
  const n = sc.sessions.length;
  const cycle = Math.floor(cursor.next / n);
  if (cycle > 0 && (sc.everyS === undefined || sc.everyS <= 0)) return 0;
  return cursor.base + cycle * (sc.everyS ?? 0) * 1000 + sc.sessions[cursor.next % n]!.startS * 1000;
}
