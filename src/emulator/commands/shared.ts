/**
 * Helpers of the command handlers of every version. A leaf: it imports no version table, so the tables
 * (./v16.ts, ./v15.ts, ./v2.ts) import it and ./index.ts imports the tables, without a cycle.
 */
import type { Payload } from '../../protocol/ocpp-j/frames.js';
import type { CommandResult, CommandStation } from './types.js';

export function ok(reply: Payload, after?: () => void): CommandResult {
  return after === undefined ? { reply } : { reply, after };
}

export function isoNow(): string {
  return new Date().toISOString();
}

/** The reply file `<Action>.json` of a station folder (ocpp-cs convention), if any. */
export function fileReply(station: CommandStation, action: string): Payload | undefined {
  return station.spec.files?.[action];
}

/** CancelReservation: the same in 1.6 (§5.1) and 2.x (H02), both by `reservationId`. */
export function cancelReservation(st: CommandStation, p: Payload): CommandResult {
  const c = st.connectors.find((x) => x.reservation?.id === p.reservationId);
  if (c === undefined) return ok({ status: 'Rejected' });
  c.reservation = null;
  return ok({ status: 'Accepted' }, () => st.setStatus(c, 'Available'));
}

/**
 * Limit for a composite schedule (1.6 §5.7 GetCompositeSchedule, 2.x K08): the smallest first-period limit of
 * the profiles on `evseId` (or 0) in `unit`, else the connector power.
 */
export function compositeLimit(st: CommandStation, evseId: number, unit: string): number {
  let limit = Infinity;
  for (const { evseId: e, profile } of st.chargingProfiles?.values() ?? []) {
    if (e !== evseId && e !== 0) continue;
    const schedule = (Array.isArray(profile.chargingSchedule) ? profile.chargingSchedule[0] : profile.chargingSchedule) as Payload | undefined;
    const periods = schedule?.chargingSchedulePeriod as Payload[] | undefined;
    if (schedule?.chargingRateUnit === unit && periods !== undefined && typeof periods[0]?.limit === 'number') limit = Math.min(limit, periods[0].limit);
  }
  if (limit !== Infinity) return limit;
  const c = evseId === 0 ? st.connectors[0] : st.findConnector(evseId);
  const w = c?.powerW ?? 11000;
  // Three phases at 230 V when the unit is amperes.
  return unit === 'A' ? Math.round((w / 3 / 230) * 10) / 10 : w;
}
