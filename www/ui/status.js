// One status per station for the dashboard, from its connector statuses (1.6: connector 0 is the station
// itself and counts only when Faulted or Unavailable; 2.x keys are "evse/connector").

const CHARGING = new Set(['Charging', 'SuspendedEV', 'SuspendedEVSE', 'Occupied']);
const ORDER = ['Faulted', 'Charging', 'Preparing', 'Finishing', 'Reserved', 'Unavailable', 'Available'];

/** 'Offline' | 'Faulted' | 'Charging' | 'Preparing' | … | 'Available' | 'Unknown' (connected, no status yet). */
export function stationStatus(station) {
  if (!station.connected) return 'Offline';
  let best = null;
  for (const [key, c] of Object.entries(station.connectors ?? {})) {
    const st = CHARGING.has(c.status) ? 'Charging' : c.status;
    if (key === '0' && st !== 'Faulted' && st !== 'Unavailable') continue;
    const rank = ORDER.indexOf(st);
    if (best === null || (rank !== -1 && (ORDER.indexOf(best) === -1 || rank < ORDER.indexOf(best)))) best = st;
  }
  return best ?? 'Unknown';
}

/** Connector keys in a natural order ("1", "2", "1/1", "2/1"). */
export function connectorKeys(connectors) {
  return Object.keys(connectors ?? {}).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

export const STATUS_FILTERS = ['Available', 'Charging', 'Preparing', 'Finishing', 'Reserved', 'Unavailable', 'Faulted', 'Unknown', 'Offline'];
