/**
 * The OCPP-S endpoint of a shard (the SOAP codec is src/protocol/soap/; commands to SOAP stations are the control
 * plane's SoapChannel): `POST /Ocpp[/…]` (any path whose first segment is `Ocpp`), served in the
 * shard that receives the request (nothing crosses to the control plane on the request path).
 *
 * A SOAP request becomes the CALL an OCPP-J station would send and goes through an RpcSession of its own
 * (one per identity per shard, kept while the station talks): the same validators, the same one-CALL-at-a-
 * time-in-arrival-order discipline, the same backend and the same hooks (metrics, live log). The session's
 * answer (CALLRESULT or CALLERROR) is taken from the `frame` hook and written as the response envelope or a
 * SOAP Fault. The station is registered with the control plane with transport `soap` and its callback
 * address (WS-A From, else ReplyTo).
 *
 * A station that spreads concurrent requests over several TCP connections may reach several shards; each
 * shard keeps the order of what it receives. Chargers send one request at a time (OCPP 1.6 §4.1: a charge
 * point SHOULD NOT send a request before the previous one is answered), so in practice there is one.
 */
import type { SessionContext } from '../protocol/ocpp-j/rpc-session.js';
import { RpcSession } from '../protocol/ocpp-j/rpc-session.js';
import { serializeCall } from '../protocol/ocpp-j/frames.js';
import { MessageType } from '../protocol/versions.js';
import { canonicalErrorCode } from '../protocol/rpc-error-codes.js';
import type { ShardToMain } from '../ipc/messages.js';
import type { WebRequest, WebResponse } from '../http/types.js';
import type { SoapShardMetrics } from '../metrics/soap-metrics.js';
import { CodecError, readType, service, writeBody, type Payload, type SoapVersion } from '../protocol/soap/codec.js';
import {
  OCPP_NAMESPACES,
  SoapFault,
  WSA_ANONYMOUS,
  contentType,
  envelope,
  faultEnvelope,
  headerNamespaces,
  headerText,
  parseEnvelope,
  type ParsedEnvelope,
  type SoapProtocol,
} from '../protocol/soap/envelope.js';
import { soapLookup } from '../protocol/soap/validators.js';
import { actionFromHttp, readOperation } from '../protocol/soap/operation.js';
import { identityProblem } from '../protocol/identity.js';

/** connId of every SOAP "connection" in registry events (WebSocket connIds start at 1). */
export const SOAP_CONN_ID = 0;
const SWEEP_MS = 60_000;
const SEEN_FLUSH_MS = 1000;

/** True for a path whose first segment is `Ocpp` (case-insensitive: chargers differ). */
export function isSoapPath(path: string): boolean {
  return path.length >= 5 && path.charCodeAt(0) === 47 && path.slice(1, 5).toLowerCase() === 'ocpp' && (path.length === 5 || path.charCodeAt(5) === 47);
}

/** The session of a SOAP station: an RpcSession that says its transport (webhook envelope, backends). */
export class SoapRpcSession extends RpcSession {
  override get transport(): 'soap' {
    return 'soap';
  }
  station!: SoapStation;
}

interface Pending {
  resolve(response: WebResponse): void;
  action: string;
  env: ParsedEnvelope;
}

/** One SOAP station in this shard: its session and the HTTP requests waiting for their answers. */
class SoapStation {
  readonly identity: string;
  readonly version: SoapVersion;
  callbackUrl: string | null;
  remoteAddress: string;
  session: SoapRpcSession;
  readonly pending = new Map<string, Pending>();
  #endpoint: SoapEndpoint;

  constructor(endpoint: SoapEndpoint, ctx: SessionContext, identity: string, version: SoapVersion, callbackUrl: string | null, remoteAddress: string) {
    this.#endpoint = endpoint;
    this.identity = identity;
    this.version = version;
    this.callbackUrl = callbackUrl;
    this.remoteAddress = remoteAddress;
    this.session = this.#newSession(ctx);
  }

  #newSession(ctx: SessionContext): SoapRpcSession {
    const session = new SoapRpcSession(ctx, this, { identity: this.identity, account: null, version: this.version, connId: SOAP_CONN_ID, remoteAddress: this.remoteAddress });
    session.station = this;
    return session;
  }

  /** Answers go out through the `frame` hook; the text frame itself is not needed. */
  send(): boolean {
    return true;
  }

  /** The session closed itself (inbound queue overflow): every waiting request gets a fault. */
  close(_code: number, reason: string): void {
    const fault = new SoapFault('Receiver', 'GenericError', `request dropped: ${reason}`, 'busy', 503);
    for (const p of this.pending.values()) p.resolve(this.#endpoint.faultResponse(p.env.protocol, fault, this.version, p.env));
    this.pending.clear();
    this.#endpoint.forget(this);
  }

  submit(id: string, action: string, payload: Payload, env: ParsedEnvelope): Promise<WebResponse> {
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, action, env });
      this.session.receive(serializeCall(id, action, payload));
    });
  }
}

export interface SoapEndpointDeps {
  /** The shard's session context (options follow config reloads; its hooks count, log and report). */
  ctx(): SessionContext;
  post(message: ShardToMain): void;
  metrics: SoapShardMetrics;
  maxBodyBytes(): number;
  maxIdentityLength(): number;
  stopping(): boolean;
}

export class SoapEndpoint {
  #deps: SoapEndpointDeps;
  #ctx: SessionContext;
  #stations = new Map<string, SoapStation>();
  #seen = new Map<string, number>();
  #sweep: NodeJS.Timeout;
  #flush: NodeJS.Timeout;

  constructor(deps: SoapEndpointDeps) {
    this.#deps = deps;
    const endpoint = this;
    const shardCtx = deps.ctx;
    const lookupOf = (): SessionContext['lookup'] => soapLookup(shardCtx().lookup);
    let lookup = lookupOf();
    let lookupBase = shardCtx().lookup;
    const hooks = shardCtx().hooks;
    this.#ctx = {
      get options() {
        return shardCtx().options;
      },
      get backend() {
        return shardCtx().backend;
      },
      get keeper() {
        return shardCtx().keeper;
      },
      lookup: (version, action) => {
        if (shardCtx().lookup !== lookupBase) {
          lookupBase = shardCtx().lookup;
          lookup = lookupOf();
        }
        return lookup(version, action);
      },
      nextMessageId: () => shardCtx().nextMessageId(),
      // The shard's hooks (counters, metrics, live log, registry events with the SOAP connection id), plus the
      // answer of each CALL written as the HTTP response.
      hooks: {
        ...hooks,
        frame(session, direction, type, id, action, payload) {
          hooks.frame?.(session, direction, type, id, action, payload);
          if (direction === 'out' && (type === MessageType.CALLRESULT || type === MessageType.CALLERROR)) {
            endpoint.#answer(session as SoapRpcSession, id, type, payload);
          }
        },
      },
    };
    this.#sweep = setInterval(() => this.#sweepIdle(), SWEEP_MS);
    this.#sweep.unref();
    this.#flush = setInterval(() => this.#flushSeen(), SEEN_FLUSH_MS);
    this.#flush.unref();
  }

  get stationCount(): number {
    return this.#stations.size;
  }

  /** Serves one HTTP request to an `/Ocpp…` path. */
  handle(request: WebRequest): WebResponse | Promise<WebResponse> {
    const metrics = this.#deps.metrics;
    if (request.method !== 'POST') {
      metrics.fault('method');
      return { status: 405, headers: { Allow: 'POST', 'Content-Type': 'text/plain; charset=utf-8' }, body: 'OCPP-S endpoint: POST a SOAP envelope\n' };
    }
    const protocolGuess: SoapProtocol = (request.headers['content-type'] ?? '').toLowerCase().startsWith('text/xml') ? '1.1' : '1.2';
    const max = this.#deps.maxBodyBytes();
    if (request.body.length > max || Buffer.byteLength(request.body) > max) {
      return this.#refuse(protocolGuess, new SoapFault('Sender', 'ProtocolError', `request body over ${max} bytes`, 'tooLarge', 413), null, null);
    }
    if (this.#deps.stopping()) {
      return this.#refuse(protocolGuess, new SoapFault('Receiver', 'GenericError', 'the central system is shutting down', 'shutdown', 503), null, null);
    }
    let env: ParsedEnvelope;
    try {
      env = parseEnvelope(request.body);
    } catch (error) {
      if (error instanceof SoapFault) return this.#refuse(protocolGuess, error, null, null);
      throw error;
    }
    try {
      return this.#dispatch(request, env);
    } catch (error) {
      if (error instanceof SoapFault) return this.#refuse(env.protocol, error, null, env);
      throw error;
    }
  }

  /**
   * A refusal made by the transport around `handle` (a body over the HTTP limit, an unexpected failure), as a
   * SOAP Fault like every other refused SOAP request.
   */
  refuse(request: WebRequest, status: number, message: string): WebResponse {
    const protocol: SoapProtocol = (request.headers['content-type'] ?? '').toLowerCase().startsWith('text/xml') ? '1.1' : '1.2';
    const fault = status === 413
      ? new SoapFault('Sender', 'ProtocolError', message, 'tooLarge', 413)
      : new SoapFault('Receiver', 'InternalError', message, 'internal', status);
    return this.#refuse(protocol, fault, null, null);
  }

  #dispatch(request: WebRequest, env: ParsedEnvelope): Promise<WebResponse> | WebResponse {
    const body = env.body;
    if (body === null) throw new SoapFault('Sender', 'FormatViolation', 'the Body is empty', 'body');
    // The version is the namespace of the body element (and of the chargeBoxIdentity header).
    let version: SoapVersion | null = null;
    for (const v of ['ocpp1.6', 'ocpp1.5'] as const) if (body.ns === OCPP_NAMESPACES[v].cs) version = v;
    if (version === null) {
      if (body.ns === OCPP_NAMESPACES['ocpp1.2'].cs) throw new SoapFault('Sender', 'NotSupported', 'OCPP 1.2 (urn://Ocpp/Cs/2010/08/) is not supported; use 1.5 or 1.6', 'wrongNamespace');
      if (body.ns === OCPP_NAMESPACES['ocpp1.6'].cp || body.ns === OCPP_NAMESPACES['ocpp1.5'].cp) {
        throw new SoapFault('Sender', 'ProtocolError', `${body.local} is in the ChargePointService namespace ${body.ns}; the central system serves CentralSystemService`, 'wrongNamespace');
      }
      throw new SoapFault('Sender', 'ProtocolError', `unknown body namespace '${body.ns}' (expected urn://Ocpp/Cs/2015/10/ or urn://Ocpp/Cs/2012/06/)`, 'wrongNamespace');
    }
    const svc = service(version, 'cs');
    const identity = headerText(env, svc.ns, 'chargeBoxIdentity');
    if (identity === null || identity === '') {
      const elsewhere = headerNamespaces(env, 'chargeBoxIdentity');
      const reason = elsewhere.length > 0 ? `chargeBoxIdentity header is in namespace '${elsewhere[0]}', expected '${svc.ns}'` : 'the chargeBoxIdentity header is missing';
      throw new SoapFault('Sender', 'ProtocolError', reason, elsewhere.length > 0 ? 'wrongNamespace' : 'missingHeader');
    }
    // The same identity rule as the WebSocket handshake: a SOAP station must be addressable through the API too.
    const problem = identityProblem(identity, this.#deps.maxIdentityLength());
    if (problem !== null) throw new SoapFault('Sender', 'ProtocolError', `chargeBoxIdentity: ${problem}`, 'badIdentity');
    const { action, payload } = readOperation(env, svc, 'CentralSystemService', version, actionFromHttp(request.headers['content-type'], request.headers.soapaction));
    const callback = usable(env.wsa.from) ?? usable(env.wsa.replyTo);
    const station = this.#station(identity, version, callback, request.remoteAddress);
    this.#seen.set(identity, Date.now());
    return station.submit(this.#ctx.nextMessageId(), action, payload, env);
  }

  #station(identity: string, version: SoapVersion, callbackUrl: string | null, remoteAddress: string): SoapStation {
    let station = this.#stations.get(identity);
    let changed = false;
    if (station === undefined || station.version !== version || station.session.closed) {
      // A new station here, or one that changed version: a fresh session (the old one's queue is answered).
      station = new SoapStation(this, this.#ctx, identity, version, callbackUrl, remoteAddress);
      this.#stations.set(identity, station);
      changed = true;
    } else if ((callbackUrl !== null && callbackUrl !== station.callbackUrl) || remoteAddress !== station.remoteAddress) {
      if (callbackUrl !== null) station.callbackUrl = callbackUrl;
      station.remoteAddress = remoteAddress;
      changed = true;
    }
    if (changed) {
      this.#deps.post({ t: 'soapStation', identity, version, callbackUrl: station.callbackUrl, remoteAddress, at: Date.now() });
    }
    return station;
  }

  forget(station: SoapStation): void {
    if (this.#stations.get(station.identity) === station) this.#stations.delete(station.identity);
  }

  #answer(session: SoapRpcSession, id: string, type: number, payload: unknown): void {
    const station = session.station;
    const pending = station?.pending.get(id);
    if (pending === undefined) return;
    station.pending.delete(id);
    const env = pending.env;
    const version = station.version;
    const svc = service(version, 'cs');
    const op = svc.actions[pending.action]!;
    if (type === MessageType.CALLRESULT) {
      this.#deps.metrics.request(version, 'response');
      const xml = envelope(env.protocol, headersFor(env, op.responseAction, station.identity, svc.ns), writeBody(svc, pending.action, 'response', payload as Payload));
      pending.resolve({ status: 200, headers: { 'Content-Type': contentType(env.protocol, op.responseAction) }, body: xml });
      return;
    }
    const error = payload as { code: string; description: string };
    // The session spells codes for its version (1.6: FormationViolation …); faults are built from the canonical code.
    const canonical = canonicalErrorCode('ocpp1.6', error.code) ?? 'GenericError';
    const receiver = canonical === 'InternalError' || canonical === 'GenericError';
    const fault = new SoapFault(receiver ? 'Receiver' : 'Sender', canonical, error.description, 'call');
    this.#deps.metrics.fault('call');
    this.#deps.metrics.request(version, 'fault');
    pending.resolve(this.faultResponse(env.protocol, fault, version, env, station.identity));
  }

  #refuse(protocol: SoapProtocol, fault: SoapFault, version: SoapVersion | null, env: ParsedEnvelope | null): WebResponse {
    this.#deps.metrics.fault(fault.reason);
    this.#deps.metrics.request(version ?? versionOfEnvelope(env), 'fault');
    return this.faultResponse(protocol, fault, version ?? versionOfEnvelope(env) ?? 'ocpp1.6', env);
  }

  /** A Fault envelope; the OCPP code is written with the 1.6 spellings (FormationViolation …) for 1.5 and 1.6. */
  faultResponse(protocol: SoapProtocol, fault: SoapFault, version: SoapVersion | 'unknown', env: ParsedEnvelope | null, identity?: string): WebResponse {
    return {
      status: fault.httpStatus,
      headers: { 'Content-Type': contentType(protocol) },
      body: faultEnvelope(protocol, fault, OCPP_NAMESPACES[version === 'unknown' ? 'ocpp1.6' : version].cs, env, identity ?? null),
    };
  }

  #flushSeen(): void {
    if (this.#seen.size === 0) return;
    const entries = [...this.#seen];
    this.#seen.clear();
    this.#deps.post({ t: 'soapSeen', entries });
  }

  #sweepIdle(): void {
    const cutoff = Date.now() - 10 * SWEEP_MS;
    for (const station of this.#stations.values()) {
      if (station.session.lastSeenAt < cutoff && !station.session.busy && station.pending.size === 0) {
        station.session.onClosed();
        this.#stations.delete(station.identity);
      }
    }
  }

  /** Answers waiting requests with a fault and stops the timers (shard stop). */
  close(): void {
    clearInterval(this.#sweep);
    clearInterval(this.#flush);
    this.#flushSeen();
    for (const station of this.#stations.values()) {
      station.session.onClosed();
      station.close(1001, 'the central system is shutting down');
    }
    this.#stations.clear();
  }

  /** True while a SOAP request is being answered (graceful stop waits for them). */
  get busy(): boolean {
    for (const s of this.#stations.values()) if (s.pending.size > 0) return true;
    return false;
  }
}

function versionOfEnvelope(env: ParsedEnvelope | null): SoapVersion | 'unknown' {
  const ns = env?.body?.ns;
  if (ns === OCPP_NAMESPACES['ocpp1.6'].cs) return 'ocpp1.6';
  if (ns === OCPP_NAMESPACES['ocpp1.5'].cs) return 'ocpp1.5';
  return 'unknown';
}

function headersFor(env: ParsedEnvelope, action: string, identity: string, ns: string): Parameters<typeof envelope>[1] {
  const replyTo = env.wsa.replyTo;
  return {
    wsaNs: env.wsa.ns,
    action,
    relatesTo: env.wsa.messageId,
    to: replyTo !== null && replyTo !== WSA_ANONYMOUS && !replyTo.endsWith('/role/anonymous') ? replyTo : null,
    identity,
    identityNs: ns,
  };
}

/** A callback address worth keeping: absolute http(s), not the WS-A anonymous/none URIs. */
function usable(address: string | null): string | null {
  if (address === null || address === '') return null;
  if (address.endsWith('/anonymous') || address.endsWith('/none')) return null;
  return /^https?:\/\//i.test(address) ? address : null;
}

/** SOAP 1.2 `action` media-type parameter, or the SOAP 1.1 SOAPAction header. */
