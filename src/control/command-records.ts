/**
 * What the store keeps of a command sent to a station: the command and its outcome, and the reservations a
 * ReserveNow made (the station said Accepted) or a CancelReservation ended.
 */
import { ErrorCode, type RouterError } from '../protocol/errors.js';
import type { StoreWrite } from '../store/engine.js';
import type { StoreClient } from '../store/client.js';

type Payload = Record<string, unknown>;

export function commandRecords(identity: string, action: string, request: Payload, result: { response: Payload } | { error: RouterError }, requestedAt: number): StoreWrite[] {
  const answeredAt = Date.now();
  if ('error' in result) {
    const code = result.error.code;
    // Refused before it was sent (unknown station, invalid payload …): not a command the station saw.
    if (code !== ErrorCode.CALL_ERROR && code !== ErrorCode.CALL_TIMEOUT && code !== ErrorCode.PAYLOAD_INVALID) return [];
    const outcome = code === ErrorCode.CALL_TIMEOUT ? 'timeout' : 'error';
    return [{ k: 'command', identity, action, request: JSON.stringify(request), outcome, response: JSON.stringify(result.error.toJSON()), requestedAt, answeredAt }];
  }
  const writes: StoreWrite[] = [{ k: 'command', identity, action, request: JSON.stringify(request), outcome: 'result', response: JSON.stringify(result.response), requestedAt, answeredAt }];
  if (action === 'ReserveNow' && result.response.status === 'Accepted') {
    // 1.6: reservationId, connectorId, idTag, expiryDate; 2.x: id, evseId, idToken, expiryDateTime.
    const id = request.reservationId ?? request.id;
    const expiry = Date.parse(String(request.expiryDate ?? request.expiryDateTime));
    const idTag = request.idTag ?? (request.idToken as { idToken?: unknown } | undefined)?.idToken;
    const connector = request.connectorId ?? request.evseId;
    if (typeof id === 'number') {
      writes.push({ k: 'reservation', id, identity, connector: connector === undefined ? null : String(connector), idTag: typeof idTag === 'string' ? idTag : null, expiry: Number.isFinite(expiry) ? expiry : null, status: 'Accepted', at: answeredAt });
    }
  }
  if (action === 'CancelReservation' && result.response.status === 'Accepted' && typeof request.reservationId === 'number') {
    writes.push({ k: 'reservation', id: request.reservationId, identity, connector: null, idTag: null, expiry: null, status: 'Cancelled', at: answeredAt });
  }
  return writes;
}

/** Keeps the command once the station answered (or did not), without delaying the caller. */
export function keepCommand(store: StoreClient, identity: string, action: string, request: Payload, answer: Promise<Payload>, failed: (error: unknown) => void): void {
  const requestedAt = Date.now();
  void answer
    .then(
      (response) => commandRecords(identity, action, request, { response }, requestedAt),
      (error: RouterError) => commandRecords(identity, action, request, { error }, requestedAt),
    )
    .then((writes) => (writes.length === 0 ? undefined : store.write(writes)))
    .catch(failed);
}
