/**
 * How the control plane reaches a station, whatever holds it: "send this CALL to this station, get the answer".
 * The API, bulk and asynchronous commands and the UI never know which kind it is:
 *  - `ShardChannel`: an OCPP-J station on a WebSocket held by one of this process's shards;
 *  - `SoapChannel`: an OCPP-S station, reached by a SOAP request to its ChargePointService;
 *  - (the cluster adds a channel to a station held by another node).
 * Every kind keeps the per-station discipline: one CALL in flight, a bounded queue, a timeout.
 */
import type { RouterError } from '../../protocol/errors.js';
import type { StationVersion } from '../../protocol/versions.js';

export type Payload = Record<string, unknown>;

export interface CallOptions {
  /** Time the station gets to answer; default `ocpp.callTimeoutMs`. */
  timeoutMs?: number;
  /** The payload was prepared and validated by the caller (the API): not validated again. */
  validated?: boolean;
}

export interface StationChannel {
  /** What carries the CALL: a shard's WebSocket, an OCPP-S request, another node. */
  readonly kind: 'ws' | 'soap' | 'node';
  readonly identity: string;
  readonly version: StationVersion;
  /** Resolves with the station's CALLRESULT payload; rejects with a RouterError (CALL_TIMEOUT, CALL_ERROR …). */
  call(action: string, payload: Payload, options?: CallOptions): Promise<Payload>;
}

/** Why no channel exists for a station: its RouterError (STATION_NOT_FOUND, STATION_NOT_CONNECTED). */
export type ChannelRefusal = RouterError;
