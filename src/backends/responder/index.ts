/**
 * The built-in responder: the default backend. Answers every CALL a charge point may send, synchronously,
 * for OCPP 1.6 (core + security extension), 2.0.1 and 2.1. Dispatch is one Map lookup in a table built
 * once per version at module load; handlers are module-level functions reading one mutable context.
 */
import { RouterError } from '../../protocol/errors.js';
import { RpcErrorCode } from '../../protocol/rpc-error-codes.js';
import type { StationVersion } from '../../protocol/versions.js';
import type { Backend, BackendReply, InboundCall } from '../../protocol/backend.js';
import { EMPTY, applyConfig, applyListedTags } from './context.js';
import type { ActionHandler, HandlerTable, ResponderConfig, ResponderContext, TransactionIdSource } from './context.js';
import { V16_CORE_HANDLERS } from './v16.js';
import { V16_SECURITY_HANDLERS } from './v16-security.js';
import { V2_HANDLERS } from './v2.js';
import { V21_HANDLERS } from './v21.js';
import { V15_HANDLERS } from './v15.js';

export type { ResponderConfig, TransactionIdSource } from './context.js';

/** Later entries override earlier ones (2.1 overrides NotifyEVChargingNeeds). */
function table(...groups: ReadonlyArray<ReadonlyArray<readonly [string, ActionHandler]>>): HandlerTable {
  const map = new Map<string, ActionHandler>();
  for (const group of groups) for (const [action, handler] of group) map.set(action, handler);
  return map;
}

/** 'ocpp1.5' exists only over SOAP (src/soap/): its sessions carry that version. */
const TABLES: Readonly<Record<StationVersion, HandlerTable>> = Object.freeze({
  'ocpp1.5': table(V15_HANDLERS),
  'ocpp1.6': table(V16_CORE_HANDLERS, V16_SECURITY_HANDLERS),
  'ocpp2.0.1': table(V2_HANDLERS),
  'ocpp2.1': table(V2_HANDLERS, V21_HANDLERS),
});

/** Actions the responder answers for `version`, sorted (for tests, docs and the router's checks). */
export function responderActions(version: StationVersion): string[] {
  return [...TABLES[version].keys()].sort();
}

const EMPTY_REPLY: BackendReply = Object.freeze({ kind: 'result', payload: EMPTY }) as BackendReply;

export interface ResponderOptions {
  config: ResponderConfig;
  transactionIds: TransactionIdSource;
  /** Clock, injectable for tests. Default `() => new Date()`. */
  now?: () => Date;
}

export interface Responder extends Backend {
  readonly name: 'responder';
  handleCall(call: InboundCall): BackendReply;
  /** Replaces the configuration (SIGHUP reload). Validated first; on error the old config stays. */
  updateConfig(config: ResponderConfig): void;
  /** Replaces the operator's id-tag list (from the store). */
  setListedTags(tags: ReadonlyArray<readonly [string, string, number | null]>): void;
  readonly config: ResponderConfig;
}

let lastIsoMs = -1;
let lastIso = '';
/** The current time as ISO 8601, built at most once per millisecond: `toISOString` costs ~0.5 µs, a
 *  noticeable share of a Heartbeat round trip. */
function cachedIsoNow(): string {
  const ms = Date.now();
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

class ResponderBackend implements Responder {
  readonly name = 'responder' as const;
  readonly #ctx: ResponderContext;

  constructor(options: ResponderOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    if (typeof options.transactionIds?.next !== 'function') {
      throw new TypeError('options.transactionIds must be a TransactionIdSource');
    }
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('options.now must be a function');
    this.#ctx = {
      config: options.config,
      now: options.now ?? (() => new Date()),
      isoNow: options.now === undefined ? cachedIsoNow : () => options.now!().toISOString(),
      transactionIds: options.transactionIds,
      acceptAll: true,
      idTags: new Set(),
      listed: new Map(),
      dataTransferReply: EMPTY,
    };
    applyConfig(this.#ctx, options.config);
  }

  get config(): ResponderConfig {
    return this.#ctx.config;
  }

  updateConfig(config: ResponderConfig): void {
    applyConfig(this.#ctx, config);
  }

  setListedTags(tags: ReadonlyArray<readonly [string, string, number | null]>): void {
    applyListedTags(this.#ctx, tags);
  }

  handleCall(call: InboundCall): BackendReply {
    const handler = TABLES[call.station.version]?.get(call.action);
    if (handler === undefined) {
      return { kind: 'error', code: RpcErrorCode.NotImplemented, description: `Action ${call.action} is not implemented` };
    }
    try {
      const payload = handler(this.#ctx, call.payload);
      return payload === EMPTY ? EMPTY_REPLY : { kind: 'result', payload };
    } catch (error) {
      // e.g. the transaction id pool ran dry (RouterError INTERNAL): never answer with a duplicate id.
      const details = error instanceof RouterError ? { code: error.code } : undefined;
      return {
        kind: 'error',
        code: RpcErrorCode.InternalError,
        // 2.0.1 Part 4 §4.2.3: errorDescription is at most 255 characters.
        description: (error instanceof Error ? error.message : String(error)).slice(0, 255),
        ...(details === undefined ? {} : { details }),
      };
    }
  }
}

export function createResponder(options: ResponderOptions): Responder {
  return new ResponderBackend(options);
}
