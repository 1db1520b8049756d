/**
 * What a command handler sees of an emulated station: the few fields and operations the handlers of every
 * version use, not the station class itself (so that ../station/ imports the handlers, never the reverse).
 */
import type { Payload } from '../../protocol/ocpp-j/frames.js';
import type { RpcErrorCode } from '../../protocol/rpc-error-codes.js';
import type { ConfigKey, StationSpec, StationState } from '../types.js';
import type { Connector, Session, SessionOptions } from '../station/connector.js';

/** A reply (and what to do once it is on the wire: SOAP runs it after the response is written), or a CALLERROR. */
export type CommandResult = { reply: Payload; after?: () => void } | { error: RpcErrorCode; description: string };
export type CommandHandler = (station: CommandStation, payload: Payload) => CommandResult;

export interface CommandStation {
  readonly spec: StationSpec;
  readonly identity: string;
  readonly state: StationState;
  readonly connectors: readonly Connector[];
  /** Transaction messages waiting (offline or queued): 2.x GetTransactionStatus. */
  readonly queuedTransactionMessages: number;
  /** Stores of the commands, created on first use. */
  localList: { version: number; tags: Map<string, unknown> } | null;
  authCache: Map<string, unknown> | null;
  chargingProfiles: Map<number, { evseId: number; profile: Payload }> | null;

  key(name: string): string | undefined;
  keyEntries(): IterableIterator<[string, ConfigKey]>;
  setKey(name: string, value: string): void;

  /** By connectorId (1.5/1.6) or evseId (2.x). */
  findConnector(id: number): Connector | undefined;
  /** The connector whose running session has this transaction id. */
  findSession(id: number | string): Connector | undefined;
  freeConnector(idTag?: string): Connector | undefined;
  startSession(c: Connector, idTag: string, options?: SessionOptions): Session;
  stopSession(c: Connector, reason: string): void;
  setStatus(c: Connector, status: string): void;
  /** null: 1.6 connector 0, the whole station. */
  sendStatus(c: Connector | null): void;
  sendHeartbeat(): void;
  sendMeterValues(c: Connector, context?: string): void;
  /** Queues a CALL of the station. */
  send(action: string, payload: Payload): void;
  /** Sends `steps` one after another, a few hundred ms apart (simulated uploads and updates). */
  sendSteps(steps: Array<[action: string, payload: Payload]>): void;
  reboot(stopReason: string, bootReason?: string): void;
  rebootWhenIdle(bootReason: string): void;
}
