import type { Config } from '../../config/types.js';
import { ErrorCode, RouterError } from '../../protocol/errors.js';

export type ResponderConfig = Config['responder'];

/** Transaction ids unique across restarts; allocated in blocks by the control plane. */
export interface TransactionIdSource {
  /** The next id (synchronous: blocks are prefetched). */
  next(): number;
}

/** Payload of a CALL or a CALLRESULT (already schema-validated by the router). */
export type Payload = Record<string, unknown>;

/**
 * State every handler reads. One object per responder, mutated in place by `updateConfig` (SIGHUP), so
 * handlers are plain module-level functions: no closure is created per message.
 */
export interface ResponderContext {
  config: ResponderConfig;
  now: () => Date;
  /** `now()` as ISO 8601 UTC with `Z`; cached per millisecond unless a test clock is injected. */
  isoNow: () => string;
  transactionIds: TransactionIdSource;
  /** `authorize.policy === 'acceptAll'`. */
  acceptAll: boolean;
  /** `authorize.idTags`, lower-cased: 1.6 IdToken is CiString20Type and 2.x idToken comparison is
   *  case-insensitive (2.0.1 Part 2 §C "IdToken", 2.1 Part 2 §C), so `ABC` and `abc` are the same tag. */
  idTags: ReadonlySet<string>;
  /** The operator's list from the store, lower-cased tag → status and expiry; checked before the policy. */
  listed: ReadonlyMap<string, { status: TagStatus; expiry: number | null }>;
  /** Reply payload of DataTransfer, rebuilt when the config changes. */
  dataTransferReply: Payload;
}

/** One handler per action: reads the request, returns the response payload. Synchronous by contract. */
export type ActionHandler = (ctx: ResponderContext, payload: Payload) => Payload;

/** Lookup table action → handler, built once per version at module load. */
export type HandlerTable = ReadonlyMap<string, ActionHandler>;

/** The shared `{}` answer of every notification whose response schema has no required property. */
export const EMPTY: Payload = Object.freeze({});

/** Handler for notifications that are only acknowledged. */
export function acknowledge(): Payload {
  return EMPTY;
}

/** Current time as ISO 8601 UTC with `Z` (`Date#toISOString` always uses UTC and `Z`). */
export function isoNow(ctx: ResponderContext): string {
  return ctx.isoNow();
}

/** An id tag's status as every version spells it (1.6 AuthorizationStatus, 2.x AuthorizationStatusEnumType). */
export type TagStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid';

/**
 * The status of an id tag / id token value: the operator's list in the store first (Blocked, Expired, Invalid, or
 * Accepted until its expiry), else the configured policy (`acceptAll`, or `list` with `authorize.idTags`).
 */
export function tagStatus(ctx: ResponderContext, idTag: unknown): TagStatus {
  if (typeof idTag !== 'string') return ctx.acceptAll ? 'Accepted' : 'Invalid';
  const key = idTag.toLowerCase();
  const listed = ctx.listed.get(key);
  if (listed !== undefined) return listed.status === 'Accepted' && listed.expiry !== null && listed.expiry < ctx.now().getTime() ? 'Expired' : listed.status;
  if (ctx.acceptAll) return 'Accepted';
  return ctx.idTags.has(key) ? 'Accepted' : 'Invalid';
}

/** The operator's list from the store (src/store/: `id_tags`), replaced whenever it changes. */
export function applyListedTags(ctx: ResponderContext, tags: ReadonlyArray<readonly [idTag: string, status: string, expiry: number | null]>): void {
  const listed = new Map<string, { status: TagStatus; expiry: number | null }>();
  for (const [tag, status, expiry] of tags) listed.set(tag.toLowerCase(), { status: (['Accepted', 'Blocked', 'Expired', 'Invalid'].includes(status) ? status : 'Invalid') as TagStatus, expiry });
  ctx.listed = listed;
}

export function applyConfig(ctx: ResponderContext, config: ResponderConfig): void {
  validateResponderConfig(config);
  ctx.config = config;
  ctx.acceptAll = config.authorize.policy === 'acceptAll';
  ctx.idTags = new Set(config.authorize.idTags.map((t) => t.toLowerCase()));
  ctx.dataTransferReply = Object.freeze({ status: config.dataTransfer.status });
}

const BOOT_STATUSES = new Set(['Accepted', 'Pending', 'Rejected']);
const DATA_TRANSFER_STATUSES = new Set(['Accepted', 'Rejected', 'UnknownMessageId', 'UnknownVendorId']);

/** The config module validates against its JSON Schema already; this guards direct callers (tests, API). */
export function validateResponderConfig(config: ResponderConfig): void {
  const errors: string[] = [];
  if (!BOOT_STATUSES.has(config?.bootStatus)) errors.push('responder.bootStatus must be Accepted, Pending or Rejected');
  if (!Number.isInteger(config?.heartbeatIntervalS) || config.heartbeatIntervalS < 0) {
    errors.push('responder.heartbeatIntervalS must be an integer >= 0');
  }
  const policy = config?.authorize?.policy;
  if (policy !== 'acceptAll' && policy !== 'list') errors.push('responder.authorize.policy must be acceptAll or list');
  if (!Array.isArray(config?.authorize?.idTags) || !config.authorize.idTags.every((t) => typeof t === 'string')) {
    errors.push('responder.authorize.idTags must be an array of strings');
  }
  if (!DATA_TRANSFER_STATUSES.has(config?.dataTransfer?.status)) {
    errors.push('responder.dataTransfer.status must be Accepted, Rejected, UnknownMessageId or UnknownVendorId');
  }
  if (errors.length > 0) {
    throw new RouterError(ErrorCode.CONFIG_INVALID, errors.join('; '), { details: { errors } });
  }
}
